// src/schema.d.ts is what openapi-typescript makes of httpapi/openapi.json
// today: regenerate it and compare (`npm run generate` updates it).

import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url)); // from dist/test/

test("src/schema.d.ts is current with httpapi/openapi.json", () => {
  const dir = mkdtempSync(join(tmpdir(), "roster-schema-"));
  try {
    const out = join(dir, "schema.d.ts");
    execFileSync(process.execPath, [join(root, "node_modules/openapi-typescript/bin/cli.js"),
      join(root, "../../httpapi/openapi.json"), "--output", out], { cwd: root, stdio: "pipe" });
    const want = readFileSync(out, "utf8");
    const got = readFileSync(join(root, "src/schema.d.ts"), "utf8");
    if (got !== want) {
      const a = got.split("\n"), b = want.split("\n");
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      assert.fail(`src/schema.d.ts is stale: run \`npm run generate --prefix clients/typescript\` and commit it.\n` +
        `first difference at line ${i + 1}:\n- ${a[i] ?? "(end)"}\n+ ${b[i] ?? "(end)"}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
