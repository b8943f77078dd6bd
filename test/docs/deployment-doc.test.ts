import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseServeConfig, SERVE_FLAGS } from "../../src/cli/config.js";
import type { ServeConfig } from "../../src/cli/config.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const DOC = readFileSync(join(ROOT, "docs", "deployment.md"), "utf8");
const BLOCKS = [...DOC.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));
const VARIABLES = new Set(Object.values(SERVE_FLAGS).map((f) => f.env));
const SCRIPTS = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
/** The paths the metrics port answers, read from its source. */
const HTTP_PATHS = new Set([...readFileSync(join(ROOT, "src", "server", "metrics-http.ts"), "utf8").matchAll(/path === "(\/\w+)"/g)].map((m) => m[1]!));
/** Values the manifests take from Secrets, as a cluster would fill them in. */
const SECRET_VALUES: Record<string, string> = { KEYPOOL_REDIS_URL: "redis://redis.keypool.svc:6379/0" };
const scratch = mkdtempSync(join(tmpdir(), "keypool-deploy-doc-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `keypool serve`'s configuration from a command line and environment, as keypool itself reads it. */
function serveConfig(argv: readonly string[], env: Record<string, string>): ServeConfig {
  for (const name of Object.keys(env)) expect(VARIABLES, `${name} is a keypool variable`).toContain(name);
  return parseServeConfig(argv, env);
}

/** The arguments after `serve` in a command that runs the built keypool. */
function serveArgs(command: readonly string[]): string[] {
  const serve = command.indexOf("serve");
  expect(serve, `"${command.join(" ")}" runs keypool serve`).toBeGreaterThan(0);
  const program = command[serve - 1]!;
  expect(program.endsWith("/.bin/keypool") || program.endsWith("dist/src/cli/main.js"), `${program} is keypool's entry point`).toBe(true);
  return command.slice(serve + 1);
}

describe("docs/deployment.md", () => {
  it("has only blocks this test checks: sh, ini (the systemd unit) and yaml (Kubernetes)", () => {
    expect(BLOCKS.map((b) => b.lang).sort()).toEqual(["ini", "sh", "sh", "yaml", "yaml"]);
  });

  it("its shell commands name real npm scripts and keypool flags", () => {
    for (const line of BLOCKS.filter((b) => b.lang === "sh").flatMap((b) => b.body.split("\n")).map((l) => l.replace(/#.*/, "").trim()).filter(Boolean)) {
      const words = line.split(/\s+/);
      if (words[0] === "npm" && words[1] === "start") expect(SCRIPTS.start).toContain("exec node dist/src/cli/main.js serve");
      else if (words[0] === "npm" && words[1] === "run") expect(SCRIPTS).toHaveProperty(words[2]!);
      else if (words[0] === "npm") expect(["ci", "prune", "install"]).toContain(words[1]);
      else serveConfig(serveArgs(words), {});
    }
  });

  it("the systemd unit: systemd accepts it; its ExecStart runs the built keypool with flags keypool accepts; not as root", () => {
    const unit = BLOCKS.find((b) => b.lang === "ini")!.body;
    const values = (key: string): string[] => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!);
    const env = Object.fromEntries(values("Environment").map((kv) => kv.split("=") as [string, string]));
    const config = serveConfig(serveArgs(values("ExecStart")[0]!.split(/\s+/)), env);
    expect(config).toMatchObject({ port: 50051, dataDir: "/var/lib/keypool", metrics: { port: 9464 } });
    expect(values("StateDirectory")).toEqual(["keypool"]); // creates config.dataDir for the service user
    expect(values("User")).not.toContain("root");
    expect(values("RestartPreventExitStatus")).toEqual(["2"]); // keypool's exit code for bad configuration
    if (!existsSync("/usr/bin/systemd-analyze")) {
      console.warn("LOUD: systemd-analyze is not installed here; the unit's syntax was not checked by systemd");
      return;
    }
    const file = join(scratch, "keypool.service");
    writeFileSync(file, unit);
    const out = execFileSync("systemd-analyze", ["verify", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toBe("");
  });

  const yamlDocs = BLOCKS.filter((b) => b.lang === "yaml").flatMap((b) => parseAllDocuments(b.body));
  const objects = yamlDocs.map((d) => d.toJS() as Json);
  const deployments = objects.filter((o) => o.kind === "Deployment");

  it("the Kubernetes YAML parses: two Deployments, each with a Service, and one claim", () => {
    for (const d of yamlDocs) expect(d.errors).toEqual([]);
    expect(objects.map((o) => o.kind).sort()).toEqual(["Deployment", "Deployment", "PersistentVolumeClaim", "Service", "Service"]);
  });

  it.each(deployments.map((d) => [d.metadata.name as string, d] as const))("%s: flags, variables, ports and probes exist in keypool", (_name, d) => {
    const pod = d.spec.template.spec as Json;
    const [container] = pod.containers as Json[];
    const env = Object.fromEntries((container!.env as Json[]).map((e) => [e.name as string, (e.value as string | undefined) ?? SECRET_VALUES[e.name]!]));
    const config = serveConfig(serveArgs([...container!.command, ...container!.args]), env);
    const ports = Object.fromEntries((container!.ports as Json[]).map((p) => [p.name as string, p.containerPort as number]));
    expect(ports).toEqual({ grpc: config.port, metrics: config.metrics!.port });
    for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const probe = container![kind] as Json;
      if (probe.grpc) expect(probe.grpc.port).toBe(config.port);
      else {
        expect(HTTP_PATHS).toContain(probe.httpGet.path);
        expect(ports[probe.httpGet.port] ?? probe.httpGet.port).toBe(config.metrics!.port);
      }
    }
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    const service = objects.find((o) => o.kind === "Service" && o.spec.selector.app === d.spec.selector.matchLabels.app)!;
    for (const p of service.spec.ports as Json[]) expect(ports[p.targetPort]).toBe(p.port);
    if (config.store === "redis") expect(d.spec.replicas).toBeGreaterThan(1);
    else {
      // One owner per data dir: one replica, the old pod gone before the new one starts, the dir on a claim.
      expect(config.dataDir).toBeDefined();
      expect([d.spec.replicas, d.spec.strategy.type]).toEqual([1, "Recreate"]);
      const mount = (container!.volumeMounts as Json[]).find((m) => m.mountPath === config.dataDir)!;
      const volume = (pod.volumes as Json[]).find((v) => v.name === mount.name)!;
      expect(objects.find((o) => o.kind === "PersistentVolumeClaim")!.metadata.name).toBe(volume.persistentVolumeClaim.claimName);
    }
  });
});
