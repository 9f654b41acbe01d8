import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { redactUrl } from "./redact-url.js";

describe("redactUrl", () => {
  it("masks a password without a user name", () => {
    assert.equal(redactUrl("redis://:secret@redis:6379/0"), "redis://:***@redis:6379/0");
  });

  it("masks a password and keeps the user name", () => {
    assert.equal(redactUrl("rediss://default:s3cr3t@cache.example:6380"), "rediss://default:***@cache.example:6380");
  });

  it("masks a password that contains an unencoded @", () => {
    assert.equal(redactUrl("http://u:p@ss@host/path?q=a@b"), "http://u:***@host/path?q=a@b");
  });

  it("leaves URLs without a password unchanged", () => {
    for (const url of [
      "redis://redis:6379",
      "redis://user@redis:6379",
      "http://host/path?email=a:b@c",
      "redis://:@redis:6379",
      "not a url",
    ]) {
      assert.equal(redactUrl(url), url);
    }
  });
});
