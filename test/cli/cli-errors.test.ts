import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dialTarget } from "../../src/cli/address.js";
import { joinDashValues } from "../../src/cli/argv.js";
import { completionModel } from "../../src/cli/completion.js";
import { spawnCli, startCli } from "../client/support/run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "keypool-cli-errors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A loopback port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface TargetCase {
  readonly addr: string;
  readonly target: string;
}

const targets = [
  { addr: "localhost", target: "localhost:50051" },
  { addr: "10.0.0.5", target: "10.0.0.5:50051" },
  { addr: "keypool.internal:6000", target: "keypool.internal:6000" },
  { addr: "::1", target: "[::1]:50051" },
  { addr: "[::1]", target: "[::1]:50051" },
  { addr: "[::1]:7000", target: "[::1]:7000" },
  { addr: "unix:/run/keypool.sock", target: "unix:/run/keypool.sock" },
  { addr: "dns:///keypool:50051", target: "dns:///keypool:50051" },
] satisfies TargetCase[];

describe("--addr", () => {
  it.each(targets)("$addr dials $target", ({ addr, target }) => {
    expect(dialTarget(addr)).toBe(target);
  });

  it("a bad port names the flag, or the variable it came from", () => {
    expect(() => dialTarget("localhost:http")).toThrow('invalid --addr "localhost:http": the port must be a number from 1 to 65535');
    expect(() => dialTarget("localhost:0", "KEYPOOL_ADDR")).toThrow('invalid KEYPOOL_ADDR="localhost:0"');
  });
});

describe("arguments that start with a dash", () => {
  const flags = new Map([["--wait", "wait"], ["-n", "count"], ["--count", "count"]]);
  const known = new Set([...flags.keys(), "--json"]);
  it.each([
    { argv: ["--wait", "-1s"], out: ["--wait=-1s"] },
    { argv: ["-n", "-3", "--json"], out: ["--count=-3", "--json"] },
    { argv: ["--wait", "--json"], out: ["--wait", "--json"] }, // a forgotten value stays an error
    { argv: ["--", "--wait", "-1s"], out: ["--", "--wait", "-1s"] },
  ])("$argv", ({ argv, out }) => {
    expect(joinDashValues(argv, flags, known)).toEqual(out);
  });
});

describe("client command errors: one line a person can act on", () => {
  it("an unreachable server is named with what went wrong, not grpc-js internals", async () => {
    const port = await closedPort();
    const run = await startCli(["stats", "--timeout", "3s"], { address: `127.0.0.1:${port}` }).done;
    expect([run.code, run.stderr]).toEqual([5, `keypool stats: cannot reach keypool at 127.0.0.1:${port}: connection refused (is keypool serve running there?)\n`]);
  });

  it("an unknown host says so", async () => {
    const run = await startCli(["stats", "--timeout", "3s"], { address: "no-such-host.invalid" }).done;
    expect([run.code, run.stderr]).toEqual([5, "keypool stats: cannot reach keypool at no-such-host.invalid:50051: host not found\n"]);
  });

  it("--json puts the error on stderr as one JSON object", async () => {
    const port = await closedPort();
    const run = await startCli(["get", "kp_AAAAAAAAAAAAAAAAAAAAAAAA", "--json", "--timeout", "3s"], { address: `127.0.0.1:${port}` }).done;
    expect(run.code).toBe(5);
    expect(run.stdout).toBe("");
    expect(JSON.parse(run.stderr)).toEqual({
      error: { command: "get", code: "UNAVAILABLE", exitCode: 5, message: `cannot reach keypool at 127.0.0.1:${port}: connection refused (is keypool serve running there?)` },
    });
    const usage = await startCli(["generate", "-n", "-3", "--json"], { address: "127.0.0.1:1" }).done;
    expect(JSON.parse(usage.stderr)).toEqual({ error: { command: "generate", code: "USAGE", exitCode: 2, message: 'invalid --count "-3": expected a whole number from 1 to 100000000' } });
  });

  it("a value from the environment is named by its variable", async () => {
    const run = await startCli(["stats"], { address: "127.0.0.1:1", env: { KEYPOOL_TIMEOUT: "soon" } }).done;
    expect([run.code, run.stderr.split("\n")[0]]).toEqual([2, 'keypool stats: invalid KEYPOOL_TIMEOUT="soon": expected a positive duration like 10s or 1500ms']);
  });

  it("a file that is not PEM is named, with what it should hold", async () => {
    const file = join(dir, "ca.pem");
    writeFileSync(file, "not a certificate\n");
    const run = await startCli(["stats", "--tls-ca", file], { address: "127.0.0.1:1" }).done;
    expect([run.code, run.stderr.split("\n")[0]]).toEqual([2, `keypool stats: --tls-ca ${file} is not a PEM certificate: no start line`]);
  });
});

describe("keypool --version and completion", () => {
  it("--version prints the package's version", async () => {
    const { version } = (await import("../../package.json", { with: { type: "json" } })).default;
    const run = await spawnCli(["--version"]).done;
    expect([run.code, run.stdout]).toEqual([0, `keypool ${version}\n`]);
  });

  it("completion bash completes commands, their flags and file arguments, from the command table", async () => {
    const script = (await spawnCli(["completion", "bash"]).done).stdout;
    writeFileSync(join(dir, "auth.json"), "{}");
    const complete = (...words: string[]): string[] => {
      const program = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _keypool; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return execFileSync("bash", ["-c", program], { cwd: dir, encoding: "utf8" }).split("\n").filter(Boolean);
    };
    const model = completionModel();
    expect(complete("keypool", "")).toEqual(expect.arrayContaining(model.map((c) => c.name)));
    expect(complete("keypool", "acq")).toEqual(["acquire"]);
    expect(complete("keypool", "acquire", "--w")).toEqual(["--wait"]);
    expect(complete("keypool", "serve", "--keepalive")).toEqual(["--keepalive-ttl"]);
    expect(complete("keypool", "serve", "--auth-file", "au")).toEqual(["auth.json"]);
    expect(complete("keypool", "completion", "")).toEqual(["bash", "zsh"]);
    expect(complete("keypool", "list", "--state", "")).toEqual(["free", "blocked", "cooling"]);
    expect(complete("keypool", "list", "--state", "co")).toEqual(["cooling"]);
    expect(complete("keypool", "import", "--pool", "x")).toEqual([]); // a pool name is the user's word
    for (const command of model.filter((c) => c.flags.length > 0)) {
      expect(complete("keypool", command.name, "--").sort()).toEqual(command.flags.map((f) => `--${f.name}`).sort());
    }
  });

  it("completion zsh is a script zsh loads, registering _keypool for keypool", async () => {
    const script = (await spawnCli(["completion", "zsh"]).done).stdout;
    const file = join(dir, "keypool.zsh");
    writeFileSync(file, script);
    execFileSync("zsh", ["-n", file]);
    const registered = execFileSync("zsh", ["-f", "-c", `autoload -U compinit && compinit -u -D && source ${file} && print -r -- $_comps[keypool]`], { encoding: "utf8" });
    expect(registered.trim()).toBe("_keypool");
  });

  it("an unknown shell is a usage error", async () => {
    const run = await spawnCli(["completion", "fish"]).done;
    expect([run.code, run.stderr]).toEqual([2, 'keypool: expected: keypool completion bash|zsh (got "fish")\n']);
  });
});
