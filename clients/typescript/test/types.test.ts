// The error schemas keep code, message and field in the generated types:
// this file does not compile if one of them lost them (as allOf-narrowed
// schemas lost them in oapi-codegen's Go types).

import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { components } from "../src/index.js";

type Schemas = components["schemas"];
type ErrorSchemaName = Extract<keyof Schemas, `Error${string}`>;

// Plain<T> is true when T is {error: {code: string, message: string, field?: string}}.
type Plain<T> = T extends { error: infer E }
  ? E extends { code: string; message: string }
    ? "field" extends keyof E
      ? (E extends { field?: string } ? true : false)
      : false
    : false
  : false;
type Lost = { [K in ErrorSchemaName]: Plain<Schemas[K]> extends true ? never : K }[ErrorSchemaName];
// Compiles only when no error schema lost a property: Lost is never.
const nothingLost: [Lost] extends [never] ? "ok" : Lost = "ok";

// And a code of each schema is its own: a 422 of the invitation is not
// typed as any error code.
const personal: Schemas["Error422_personal_email_domain"]["error"]["code"] = "personal_email_domain";

test("every error schema keeps code, message and field in the generated types", () => {
  assert.equal(nothingLost, "ok");
  assert.equal(personal, "personal_email_domain");
  // The check above covers every Error* schema of the document.
  const doc = JSON.parse(readFileSync(new URL("../../../../httpapi/openapi.json", import.meta.url), "utf8"));
  const names = Object.keys(doc.components.schemas).filter((n) => n.startsWith("Error"));
  assert.ok(names.length > 20, `only ${names.length} error schemas`);
  for (const n of names) {
    const e = doc.components.schemas[n].properties?.error;
    assert.ok(e && !doc.components.schemas[n].allOf, `${n}: not a plain {error: {...}} schema`);
    for (const p of ["code", "message", "field"]) {
      assert.ok(e.properties?.[p], `${n}: error.${p} is not spelled out`);
    }
  }
});
