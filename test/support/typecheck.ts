import ts from "typescript";

/** The keypool package's entry point as a path a doc example can import (NodeNext maps .js to .ts). */
export const PACKAGE_ENTRY = new URL("../../src/index.js", import.meta.url).pathname;

/**
 * Type-checks TypeScript files as a user's project would (strict, NodeNext modules, Node's
 * types) and returns each error as "file:line: message"; empty when they compile. O(program).
 */
export function typeErrors(files: readonly string[]): string[] {
  const program = ts.createProgram([...files], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: ["node"],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : "";
    return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
  });
}
