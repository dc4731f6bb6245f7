"""The example deployment of configs/deploy: settings that pass the production checks, systemd
units that run real commands, and HAProxy and nginx configs that, started as shipped (ports
and certificate paths put in), balance HTTP and WebSockets over two live instances and keep
serving when one of them is killed outright."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dispatch.config import load_settings
from edge.protocol.video import MAX_FRAME_BYTES, unpack_frame
from edge.video.uplink import Uplink
from outrider.certs import init as init_certs
from outrider.cli import build_parser
from sim.broker import LocalBroker
from sim.flood import DispatchProcess, Fleet
from sim.natsd import NatsServer, nats_server_binary
from sim.net import free_tcp_port
from tests.dispatch.conftest import TOKENS, bearer, ensure_tool, wait_for
from tests.dispatch.test_video_cluster import cluster_env, stream
from tests.h264clip import H264Clip

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "configs" / "deploy"
INSTANCE_PORTS = ("127.0.0.1:8081", "127.0.0.1:8082")


def env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of an EnvironmentFile (comments and blank values left out)."""
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            if value:
                out[key.strip()] = value.strip()
    return out


def unit(path: Path) -> dict[str, list[str]]:
    """A systemd unit's ``[Service]`` settings (a key may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_each_instances_settings_pass_the_production_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTRIDER_DISPATCH_SECRET", secrets.token_urlsafe(48))
    ports = set()
    for n in (1, 2):
        env = env_file(DEPLOY / f"dispatch-{n}.env")
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value)
            settings = load_settings(DEPLOY / "dispatch.toml")
        assert settings.environment == "production"
        assert settings.cluster.video_bus.startswith("tls://")
        assert settings.mqtt_client_id == f"outrider-dispatch-{n}"
        ports.add(f"{settings.host}:{settings.port}")
    assert ports == set(INSTANCE_PORTS)  # the addresses the load balancers send to
    for lb in ("haproxy.cfg", "nginx.conf"):
        text = (DEPLOY / lb).read_text()
        assert all(address in text for address in INSTANCE_PORTS), lb
    assert "/readyz" in (DEPLOY / "haproxy.cfg").read_text()


@pytest.mark.parametrize("name", ["dispatch@.service", "outrider-edge.service"])
def test_each_unit_runs_a_real_command_with_real_files(name: str) -> None:
    service = unit(DEPLOY / name)
    [start] = service["ExecStart"]
    argv = shlex.split(start)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert Path(argv[0]).name in scripts
    args = build_parser().parse_args(argv[1:])  # the sub-command and its flags exist
    assert args.config is not None
    assert service["KillSignal"] == ["SIGTERM"]
    for path in service.get("EnvironmentFile", []):
        shipped = DEPLOY / Path(path).name.replace("%i", "1")
        assert shipped.exists(), path
    if name.startswith("dispatch"):
        assert Path(args.config).name == "dispatch.toml"
    if shutil.which("systemd-analyze") is None:
        return
    here = Path(sys.executable).parent / "outrider"
    text = (DEPLOY / name).read_text().replace(argv[0], str(here))
    text = re.sub(r"^(User|Group)=.*$", "", text, flags=re.M)  # no such user on this machine
    folder = Path(subprocess.check_output(["mktemp", "-d"], text=True).strip())
    try:
        checked = folder / name.replace("@.", "@1.")
        checked.write_text(text)
        done = subprocess.run(
            ["systemd-analyze", "verify", str(checked)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    finally:
        shutil.rmtree(folder)


def test_the_nats_config_carries_any_frame_on_the_instances_subjects(tmp_path: Path) -> None:
    text = (DEPLOY / "nats.conf").read_text()
    payload = re.search(r"^max_payload: (\d+)$", text, re.M)
    assert payload is not None and int(payload.group(1)) >= MAX_FRAME_BYTES
    subject = tomllib.loads((DEPLOY / "dispatch.toml").read_text())["cluster"]["video_subject"]
    assert f'"{subject}.>"' in text
    binary = nats_server_binary()
    if binary is None:
        return
    init_certs(tmp_path / "tls", [], ["127.0.0.1"])
    (tmp_path / "nats.conf").write_text(text.replace("/etc/nats/tls/", f"{tmp_path}/tls/"))
    done = subprocess.run(
        [binary, "-c", str(tmp_path / "nats.conf"), "-t"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr + done.stdout


# -- the load balancers, live ----------------------------------------------------------------


class Balancer:
    """The shipped HAProxy or nginx config with its ports and certificate paths put in."""

    def __init__(self, kind: str, folder: Path, backends: tuple[int, int]) -> None:
        self.kind, self.folder = kind, folder
        self.port, self.plain = free_tcp_port(), free_tcp_port()
        tls = folder / "tls"
        init_certs(tls, [], ["127.0.0.1"])
        self.ca = tls / "ca.crt"
        (tls / "dispatch.pem").write_bytes(
            (tls / "server.crt").read_bytes() + (tls / "server.key").read_bytes()
        )
        text = (DEPLOY / ("haproxy.cfg" if kind == "haproxy" else "nginx.conf")).read_text()
        for shipped, port in zip(INSTANCE_PORTS, backends, strict=True):
            text = text.replace(shipped, f"127.0.0.1:{port}")
        text = text.replace("/etc/outrider/tls/dispatch.pem", str(tls / "dispatch.pem"))
        text = text.replace("/etc/outrider/tls/dispatch.crt", str(tls / "server.crt"))
        text = text.replace("/etc/outrider/tls/dispatch.key", str(tls / "server.key"))
        for shipped, port in (("443", self.port), ("80", self.plain)):
            text = text.replace(f"bind 0.0.0.0:{shipped}", f"bind 127.0.0.1:{port}")
            text = re.sub(rf"listen {shipped}\b", f"listen 127.0.0.1:{port}", text)
        self.stats = free_tcp_port()
        if kind == "haproxy":
            text = text.replace("maxconn 20000", "maxconn 2000")  # this machine's FD limit
            text = text.replace("127.0.0.1:8404", f"127.0.0.1:{self.stats}")
            self.config = folder / "haproxy.cfg"
            self.config.write_text(text)
            self.argv = ["haproxy", "-db", "-f", str(self.config)]
            self.check = ["haproxy", "-c", "-f", str(self.config)]
        else:
            (folder / "outrider.conf").write_text(text)
            self.config = folder / "nginx-main.conf"
            temp = folder / "nginx-temp"
            temp.mkdir(mode=0o777)
            self.config.write_text(
                f"pid {folder}/nginx.pid;\nerror_log {folder}/nginx-error.log;\n"
                "worker_processes 1;\nevents { worker_connections 1024; }\nhttp {\n"
                f"  access_log off;\n  client_body_temp_path {temp}/body;\n"
                f"  proxy_temp_path {temp}/proxy;\n  include {folder}/outrider.conf;\n}}\n"
            )
            self.argv = ["nginx", "-c", str(self.config), "-g", "daemon off;"]
            self.check = ["nginx", "-t", "-c", str(self.config)]
        self.url = f"https://127.0.0.1:{self.port}"

    async def up(self) -> set[str]:
        """The instances HAProxy's checks find ready now (from its stats page)."""
        async with httpx.AsyncClient() as http:
            csv = (await http.get(f"http://127.0.0.1:{self.stats}/stats;csv")).text
        rows = [line.split(",") for line in csv.splitlines()[1:]]
        return {
            r[1]
            for r in rows
            if len(r) > 17 and r[0] == "dispatch" and r[1] != "BACKEND" and r[17] == "UP"
        }

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Balancer]:
        proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=(self.folder / f"{self.kind}.log").open("wb"),
        )
        try:
            async with httpx.AsyncClient(base_url=self.url, verify=self.tls()) as http:
                await wait_for(lambda: _answers(http, proc), limit_s=15)
            yield self
        finally:
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()


async def _all_up(lb: Balancer) -> bool:
    return await lb.up() == {"dispatch-1", "dispatch-2"}


async def _answers(http: httpx.AsyncClient, proc: asyncio.subprocess.Process) -> bool:
    assert proc.returncode is None, "the balancer exited (see its log in the test's folder)"
    try:
        return (await http.get("/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


def balancer_binary(kind: str) -> None:
    ensure_tool(kind, "nginx-light" if kind == "nginx" else kind)


@pytest.mark.parametrize("kind", ["haproxy", "nginx"])
def test_the_shipped_balancer_config_passes_its_own_check(kind: str, tmp_path: Path) -> None:
    balancer_binary(kind)
    lb = Balancer(kind, tmp_path, (free_tcp_port(), free_tcp_port()))
    done = subprocess.run(lb.check, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# HAProxy's live run is the default one; nginx's (its config check runs always) is slow-marked.
@pytest.mark.parametrize("kind", ["haproxy", pytest.param("nginx", marks=pytest.mark.slow)])
async def test_one_address_serves_http_and_video_and_outlives_a_killed_instance(
    kind: str, tmp_path: Path, broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    balancer_binary(kind)
    ensure_tool("nats-server", "nats-server")
    fleet = Fleet(1)
    dock = next(iter(fleet.keys))
    async with NatsServer() as nats:
        procs = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            proc = DispatchProcess(tmp_path / name, broker.url, fleet)
            proc.env.update(cluster_env(nats.url, name))
            procs.append(proc)
        a, b = procs
        async with a, b:
            await a.ready()
            await b.ready()
            lb = Balancer(kind, tmp_path, (a.port, b.port))
            monkeypatch.setenv("SSL_CERT_FILE", str(lb.ca))  # the edge's trust, as in service
            async with lb.running(), httpx.AsyncClient(base_url=lb.url, verify=lb.tls()) as http:
                codes = [(await http.get("/readyz")).status_code for _ in range(10)]
                assert codes == [200] * 10
                docks = await http.get("/api/v1/docks", headers=bearer("dispatcher"))
                assert docks.status_code == 200
                await _video_through(lb, dock, (a, b))
                codes = [(await http.get("/readyz")).status_code for _ in range(20)]
                assert codes == [200] * 20  # one is gone: every request went to the other


async def _uplinked(instance: DispatchProcess) -> bool:
    """Whether an edge's uplink is on ``instance`` (it publishes frames on the bus)."""
    async with httpx.AsyncClient(base_url=instance.url, headers=bearer("metrics")) as http:
        text = (await http.get("/metrics")).text
    sent = re.search(r'^dispatch_video_bus_frames_total\{outcome="sent"\} (\S+)$', text, re.M)
    return sent is not None and float(sent.group(1)) > 0


async def _video_through(
    lb: Balancer, dock: str, instances: tuple[DispatchProcess, DispatchProcess]
) -> None:
    """An edge and a viewer on the balancer's address; the instance holding the uplink is
    killed; both carry on through the other."""
    clip = H264Clip(dock_id=dock)
    stop = asyncio.Event()
    got: list[int] = []
    view = f"wss://127.0.0.1:{lb.port}/api/v1/video/{dock}/ws"

    async def viewer() -> None:  # as the UI's player: reconnect when the socket drops
        while True:
            with contextlib.suppress(ConnectionClosed, OSError):
                async with connect(
                    view, additional_headers=bearer("dispatcher"), ssl=lb.tls()
                ) as conn:
                    async for data in conn:
                        assert isinstance(data, bytes)
                        got.append(unpack_frame(data)[0].frame)
            await asyncio.sleep(0.5)

    # the edge trusts the balancer's certificate as a dock trusts its force's CA
    async with (
        Uplink(lb.url, dock, TOKENS["edge"], backoff_s=(0.2, 1.0)) as uplink,
        asyncio.TaskGroup() as group,
    ):
        group.create_task(stream(uplink, clip, stop))
        watcher = group.create_task(viewer())
        await wait_for(lambda: len(got) >= 20, limit_s=20)
        [victim] = [i for i in instances if await _uplinked(i)]
        await victim.kill()
        before = len(got)
        await wait_for(lambda: len(got) >= before + 20, limit_s=30)
        stop.set()
        watcher.cancel()


async def test_a_rolling_deploy_through_haproxy_fails_no_request(
    tmp_path: Path, broker: LocalBroker
) -> None:
    balancer_binary("haproxy")
    fleet = Fleet(1)
    procs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        proc = DispatchProcess(tmp_path / name, broker.url, fleet)
        proc.env["OUTRIDER_DISPATCH_TOKENS"] = cluster_env("", name)["OUTRIDER_DISPATCH_TOKENS"]
        procs.append(proc)
    a, b = procs
    codes: list[int] = []
    done = asyncio.Event()

    async def control_room(http: httpx.AsyncClient) -> None:
        while not done.is_set():
            try:
                r = await http.get("/api/v1/docks", headers=bearer("dispatcher"))
                codes.append(r.status_code)
            except httpx.HTTPError:
                codes.append(0)
            await asyncio.sleep(0.05)  # a busy control room, within one address's budget

    async with a, b:
        await a.ready()
        await b.ready()
        lb = Balancer("haproxy", tmp_path, (a.port, b.port))
        async with (
            lb.running(),
            httpx.AsyncClient(base_url=lb.url, verify=lb.tls()) as http,
            asyncio.TaskGroup() as group,
        ):
            for _ in range(2):
                group.create_task(control_room(http))
            await wait_for(lambda: _all_up(lb), limit_s=15)
            for instance in (a, b):  # one at a time, as systemctl restart dispatch@N
                served = len(codes)
                # a clean stop: 0, or the signal raised again once drained (systemd: success)
                assert await instance.terminate() in (0, -signal.SIGTERM)
                await instance.start()
                await instance.ready()
                await wait_for(lambda: _all_up(lb), limit_s=30)  # its checks pass again
                await wait_for(lambda n=served: len(codes) > n + 20, limit_s=30)  # type: ignore[misc]
            done.set()
    assert codes and set(codes) == {200}, {c: codes.count(c) for c in set(codes)}
