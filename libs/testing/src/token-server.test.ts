import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startTokenServer } from "./token-server.js";

const server = await startTokenServer({ clientId: "relay id", clientSecret: "s3cret", expiresIn: 60 });
after(() => server.close());

function basic(id: string, secret: string): string {
  const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString("base64")}`;
}

async function token(url: string, form: Record<string, string>, authorization?: string): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (authorization) headers["authorization"] = authorization;
  const res = await fetch(url, { method: "POST", headers, body: new URLSearchParams(form) });
  return { status: res.status, body: await res.json() };
}

test("hands out numbered tokens for the client's credentials, Basic (form-encoded) or in the form", async () => {
  assert.deepEqual(await token(server.url, { grant_type: "client_credentials" }, basic("relay id", "s3cret")), {
    status: 200,
    body: { access_token: "token-1", token_type: "bearer", expires_in: 60 },
  });
  const viaForm = await token(server.url, { grant_type: "client_credentials", client_id: "relay id", client_secret: "s3cret" });
  assert.deepEqual(viaForm.body, { access_token: "token-2", token_type: "bearer", expires_in: 60 });
  assert.deepEqual(server.issued, ["token-1", "token-2"]);
  assert.deepEqual(
    server.requests.map(({ via, clientId, clientSecret }) => ({ via, clientId, clientSecret })),
    [
      { via: "basic", clientId: "relay id", clientSecret: "s3cret" },
      { via: "form", clientId: "relay id", clientSecret: "s3cret" },
    ],
  );
  assert.equal(server.requests[1]?.form["grant_type"], "client_credentials");
});

test("refuses a wrong secret, no credentials or another grant, and accepts a rotated secret only", async () => {
  const refused = { status: 401, body: { error: "invalid_client" } };
  assert.deepEqual(await token(server.url, { grant_type: "client_credentials" }, basic("relay id", "wrong")), refused);
  assert.deepEqual(await token(server.url, { grant_type: "client_credentials" }), refused);
  assert.equal(server.requests.at(-1)?.via, "none");
  assert.deepEqual(await token(server.url, { grant_type: "password" }, basic("relay id", "s3cret")), refused);
  server.acceptSecret("rotated");
  assert.deepEqual(await token(server.url, { grant_type: "client_credentials" }, basic("relay id", "s3cret")), refused);
  assert.equal((await token(server.url, { grant_type: "client_credentials" }, basic("relay id", "rotated"))).status, 200);
  server.acceptSecret("s3cret");
});

test("a fixed answer replaces the tokens until it is cleared", async () => {
  server.answer({ status: 503, headers: { "content-type": "application/json", "retry-after": "2" }, body: '{"error":"temporarily_unavailable"}' });
  const res = await fetch(server.url, { method: "POST", headers: { authorization: basic("relay id", "s3cret") }, body: "grant_type=client_credentials" });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "2");
  assert.deepEqual(await res.json(), { error: "temporarily_unavailable" });
  server.answer(undefined);
  assert.equal((await token(server.url, { grant_type: "client_credentials" }, basic("relay id", "s3cret"))).status, 200);
});

test("form only: Basic credentials are refused, and without expiresIn the token has no lifetime", async () => {
  const strict = await startTokenServer({ clientId: "a", clientSecret: "b", formOnly: true });
  after(() => strict.close());
  assert.equal((await token(strict.url, { grant_type: "client_credentials" }, basic("a", "b"))).status, 401);
  assert.deepEqual((await token(strict.url, { grant_type: "client_credentials", client_id: "a", client_secret: "b" })).body, {
    access_token: "token-1",
    token_type: "bearer",
  });
  assert.match(strict.url, new RegExp(`^http://127\\.0\\.0\\.1:${strict.port}/oauth/token$`));
});
