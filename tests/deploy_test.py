#!/usr/bin/env python3
"""deploy/ checked without a Docker engine (ctest: deploy_test, label deploy).

- the compose files (and their overrides) validate with `docker-compose config` against
  deploy/.env.example; without docker-compose this test FAILS and names the package;
- deploy/Dockerfile builds with the script CI runs (tools/install-deps.sh, as .ci/run does)
  and the three binaries, and its runtime images run as a non-root user with no secret;
- every service, port, volume, secret and variable in the reference table of
  deploy/README.md exists in the compose file it names; every ${VAR} of the compose files is
  in .env.example; every QBENCH_* variable a service sets is read by something.

Usage: deploy_test.py [SOURCE_DIR]
"""
import os
import re
import shutil
import subprocess
import sys
import unittest

SRC = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
DEPLOY = os.path.join(SRC, "deploy")
ENV_EXAMPLE = os.path.join(DEPLOY, ".env.example")
# Each compose file alone, and with the overrides meant for it.
STACKS = {
    "compose.yml": ["compose.yml"],
    "compose.worker.yml": ["compose.worker.yml"],
    "compose.yml+compose.rapl.yml": ["compose.yml", "compose.rapl.yml"],
    "compose.worker.yml+compose.gpu.yml": ["compose.worker.yml", "compose.gpu.yml"],
}
# The stack a file named in the README is checked in (an override: with its base file).
STACK_OF = {"compose.rapl.yml": "compose.yml+compose.rapl.yml", "compose.gpu.yml": "compose.worker.yml+compose.gpu.yml"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def compose_config(files):
    """The merged, interpolated configuration as docker-compose prints it (a dict)."""
    exe = shutil.which("docker-compose")
    if exe is None:
        raise AssertionError("docker-compose not found: install the Debian package `docker-compose` "
                             "(apt-get install docker-compose)")
    cmd = [exe, "--project-directory", DEPLOY, "--env-file", ENV_EXAMPLE]
    for f in files:
        cmd += ["-f", os.path.join(DEPLOY, f)]
    cmd += ["config"]
    env = {k: v for k, v in os.environ.items() if not (k.startswith("QBENCH_") or k.startswith("GRAFANA_"))}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=DEPLOY)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    import yaml  # python3-yaml, a dependency of docker-compose
    return yaml.safe_load(r.stdout)


def published_ports(config):
    ports = set()
    for svc in config.get("services", {}).values():
        for p in svc.get("ports", []):
            if isinstance(p, dict):
                ports.update(str(p[k]) for k in ("published", "target") if k in p)
            else:
                ports.update(re.findall(r"\d+", str(p).split("/")[0])[-2:])
    return ports


def reference_rows():
    """(kind, name, files) from the table under '## Reference' in deploy/README.md: rows
    `| kind | `name` | file(s) | meaning |`."""
    text = read(os.path.join(DEPLOY, "README.md"))
    section = text.split("\n## Reference", 1)
    assert len(section) == 2, "deploy/README.md has no '## Reference' section"
    rows = []
    for line in section[1].split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"`[^`]+`", cells[1]):
            continue
        rows.append((cells[0], cells[1].strip("`"), re.findall(r"compose[\w.]*\.yml", cells[2])))
    return rows


class DeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.configs = {}
        cls.errors = {}
        for name, files in STACKS.items():
            try:
                cls.configs[name] = compose_config(files)
            except AssertionError as e:
                cls.errors[name] = str(e)

    def no_compose_errors(self):
        if self.errors:
            self.fail("\n".join(f"{name}: {e}" for name, e in self.errors.items()))

    def test_compose_files_validate(self):
        self.no_compose_errors()
        lab = self.configs["compose.yml"]
        self.assertTrue({"postgres", "migrate", "bootstrap", "server", "worker", "grafana"} <= set(lab["services"]))
        for name, cfg in self.configs.items():
            worker = cfg["services"]["worker"]
            self.assertNotIn("container_name", worker, f"{name}: a fixed container_name stops --scale worker=N")

    def test_no_secret_in_compose_environment(self):
        self.no_compose_errors()
        for name, cfg in self.configs.items():
            for svc_name, svc in cfg["services"].items():
                for key, value in (svc.get("environment") or {}).items():
                    if re.search(r"PASSWORD|TOKEN|SECRET|_KEY$", key) and not key.endswith(("_FILE", "__FILE")):
                        self.fail(f"{name}: {svc_name} sets {key} in its environment; use a secret file")
                    self.assertNotRegex(str(value), r"qbt_", f"{name}: {svc_name}.{key} holds a token")

    def test_every_compose_variable_is_in_env_example(self):
        example = set(re.findall(r"^([A-Z0-9_]+)=", read(ENV_EXAMPLE), re.M))
        for f in {f for files in STACKS.values() for f in files}:
            used = set(re.findall(r"\$\{([A-Z0-9_]+)", read(os.path.join(DEPLOY, f))))
            self.assertEqual(used - example, set(), f"{f} uses variables .env.example does not list")

    def test_every_qbench_variable_of_a_service_is_read(self):
        self.no_compose_errors()
        readers = "".join(read(os.path.join(DEPLOY, p)) for p in (
            "entrypoint.sh", "postgres/initdb/20-grafana-login.sh", "grafana/provisioning/datasources/qbench.yml"))
        for name, cfg in self.configs.items():
            for svc_name, svc in cfg["services"].items():
                for key in svc.get("environment") or {}:
                    if key.startswith("QBENCH_"):
                        self.assertTrue(key in readers, f"{name}: {svc_name} sets {key}, which nothing reads")

    def test_dockerfile_builds_with_ci_script_and_runs_unprivileged(self):
        dockerfile = read(os.path.join(DEPLOY, "Dockerfile"))
        self.assertIn("tools/install-deps.sh", read(os.path.join(SRC, ".ci", "run")), "CI no longer runs install-deps.sh")
        run_lines = re.findall(r"^RUN ((?:[^\n]*\\\n)*[^\n]*)", dockerfile, re.M)
        self.assertTrue(any(re.match(r"\s*tools/install-deps\.sh\b", r) for r in run_lines),
                        "the build stage must RUN tools/install-deps.sh (the script CI runs)")
        build = next((r for r in run_lines if "cmake --build" in r), "")
        self.assertIn("-DCMAKE_BUILD_TYPE=Release", build)
        for target in ("qbench-server", "qbench-worker", "qbench ", "qbench-health-probe"):
            self.assertIn(target, build)
        stages = re.findall(r"^FROM \S+ AS (\w+)", dockerfile, re.M)
        self.assertTrue({"build", "server", "worker", "cli"} <= set(stages), stages)
        for stage in ("server", "worker", "cli"):
            body = dockerfile.split(f" AS {stage}\n", 1)[1].split("\nFROM ", 1)[0]
            users = re.findall(r"^USER (\S+)", body, re.M)
            self.assertTrue(users and users[-1] not in ("root", "0"), f"stage {stage} must end as a non-root USER")
            self.assertNotIn("install-deps.sh", body, f"stage {stage} must not carry build dependencies")
        self.assertIsNone(re.search(r"^(ENV|ARG)\s+\S*(PASSWORD|TOKEN|SECRET)", dockerfile, re.M | re.I),
                          "no secret may be baked into an image")
        self.assertIn("HEALTHCHECK", dockerfile.split(" AS server\n", 1)[1].split("\nFROM ", 1)[0])

    def test_readme_reference_exists_in_compose(self):
        self.no_compose_errors()
        rows = reference_rows()
        self.assertGreater(len(rows), 20, "the reference table of deploy/README.md looks empty")
        raw = {f: read(os.path.join(DEPLOY, f)) for f in ("compose.yml", "compose.worker.yml", "compose.rapl.yml",
                                                          "compose.gpu.yml")}
        example = set(re.findall(r"^([A-Z0-9_]+)=", read(ENV_EXAMPLE), re.M))
        for kind, name, files in rows:
            self.assertTrue(files, f"README reference row {name}: names no compose file")
            for f in files:
                cfg = self.configs.get(STACK_OF.get(f, f))
                self.assertIsNotNone(cfg, f"README reference row {name}: unknown compose file {f}")
                where = f"README names {kind} `{name}` in {f}"
                if kind == "service":
                    self.assertIn(name, cfg["services"], where)
                elif kind == "volume":
                    self.assertIn(name, cfg.get("volumes", {}), where)
                elif kind == "secret":
                    self.assertIn(name, cfg.get("secrets", {}), where)
                elif kind == "port":
                    self.assertIn(name, published_ports(cfg), where)
                elif kind == "setting":  # a variable of .env, used by the compose file
                    self.assertIn(name, example, where + " (.env.example)")
                    self.assertRegex(raw[f], r"\$\{" + re.escape(name) + r"\b", where)
                elif kind == "env":  # a variable in a container's environment
                    envs = {k for s in cfg["services"].values() for k in (s.get("environment") or {})}
                    self.assertIn(name, envs, where)
                else:
                    self.fail(f"README reference row {name}: unknown kind {kind!r}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
