// The API reference at /docs: Swagger UI from the installed package (ui/vendor/swagger-ui), so
// the page loads nothing from outside and works offline.
"use strict";

window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
