#!/usr/bin/env node
import { ConfigError } from "./config.js";
import { serve } from "./serve.js";

async function main(argv: readonly string[]): Promise<void> {
  const [command = "serve", ...rest] = argv;
  if (command === "serve") return serve(rest);
  if (command.startsWith("-")) return serve(argv);
  throw new ConfigError(`unknown command "${command}"; try: keypool serve --help`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`keypool: ${err instanceof ConfigError ? err.message : (err as Error)?.message ?? String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
