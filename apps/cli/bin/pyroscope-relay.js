#!/usr/bin/env -S node --max-semi-space-size=16
// The command npm links (npx pyroscope-relay, npm install -g ./apps/cli). npm links a bin only if its
// file exists when it installs, which is before any build, so the bin is this committed file.
import "../dist/main.js";
