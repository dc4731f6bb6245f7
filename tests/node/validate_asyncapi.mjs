// Validates an AsyncAPI document with the official parser; prints the diagnostics as JSON.
// Exit status: 0 when the document parses with no error, 1 otherwise.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(text);
const errors = diagnostics.filter((d) => d.severity === 0);
const summary = {
  valid: document !== undefined && errors.length === 0,
  version: document?.version(),
  channels: document ? document.channels().all().map((c) => c.address()) : [],
  operations: document ? document.operations().all().map((o) => [o.id(), o.action()]) : [],
  messages: document ? document.allMessages().all().map((m) => m.id()) : [],
  diagnostics: diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path })),
};
process.stdout.write(JSON.stringify(summary) + "\n");
process.exit(summary.valid ? 0 : 1);
