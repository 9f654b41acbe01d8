import assert from "node:assert/strict";
import { test } from "node:test";
import { BacklogView } from "./backlog-view.js";

test("a profile fits while the backlog is below every bound; 0 means no bound", () => {
  const view = new BacklogView();
  view.update({ profiles: 2, bytes: 100 });
  assert.equal(view.admits({ maxProfiles: 3, maxBytes: 0 }), true);
  assert.equal(view.admits({ maxProfiles: 2, maxBytes: 0 }), false);
  assert.equal(view.admits({ maxProfiles: 0, maxBytes: 101 }), true);
  assert.equal(view.admits({ maxProfiles: 0, maxBytes: 100 }), false);
  assert.equal(view.admits({ maxProfiles: 0, maxBytes: 0 }), true);
});

test("admitted profiles count until their flush ends; the reading then has them", () => {
  const view = new BacklogView();
  const bounds = { maxProfiles: 2, maxBytes: 0 };
  view.reserve(10);
  view.reserve(20);
  assert.deepEqual(view.usage(), { profiles: 2, bytes: 30 });
  assert.equal(view.admits(bounds), false, "two profiles waiting for their flush fill a bound of two");
  view.settle({ profiles: 2, bytes: 30 });
  view.update({ profiles: 2, bytes: 30 });
  assert.deepEqual(view.usage(), { profiles: 2, bytes: 30 });
  view.update({ profiles: 0, bytes: 0 });
  assert.equal(view.admits(bounds), true, "a reading after the writers delivered makes room again");
});

test("settling never goes below nothing", () => {
  const view = new BacklogView();
  view.reserve(5);
  view.settle({ profiles: 3, bytes: 50 });
  assert.deepEqual(view.usage(), { profiles: 0, bytes: 0 });
});

test("a target's backlog is the sum of its queue shards' latest readings", () => {
  const view = new BacklogView();
  const bounds = { maxProfiles: 10, maxBytes: 0 };
  view.update({ profiles: 4, bytes: 40 }, 0);
  view.update({ profiles: 5, bytes: 50 }, 2);
  assert.deepEqual(view.usage(), { profiles: 9, bytes: 90 });
  assert.equal(view.admits(bounds), true);
  view.update({ profiles: 6, bytes: 60 }, 2);
  assert.deepEqual(view.usage(), { profiles: 10, bytes: 100 }, "a new reading of a shard replaces its last one");
  assert.equal(view.admits(bounds), false);
});
