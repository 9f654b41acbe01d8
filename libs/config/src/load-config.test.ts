import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ConfigError } from "./config-error.js";
import { loadConfig, loadTargetNames } from "./load-config.js";

/** A configuration file of `text` in a temp dir of the test's own. */
async function configFileOf(t: TestContext, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "relay-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "relay.alloy");
  await writeFile(file, text);
  return file;
}

test("reads the file and the files its *_file attributes name", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "relay-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, "token");
  await writeFile(tokenFile, "t0ken\n");
  const configFile = join(dir, "relay.alloy");
  await writeFile(
    configFile,
    `pyroscope.receive_http "in" {
  forward_to = [pyroscope.write.w.receiver]
}
pyroscope.write "w" {
  endpoint {
    url               = env("URL")
    bearer_token_file = ${JSON.stringify(tokenFile)}
  }
}
`,
  );
  const config = await loadConfig(configFile, { URL: "http://pyroscope:4040" });
  assert.equal(config.targets[0]?.url, "http://pyroscope:4040");
  assert.deepEqual(config.targets[0]?.auth, { kind: "bearer", token: "t0ken", tokenFile });
});

test("reports a configuration file that cannot be read", async () => {
  const missing = join(tmpdir(), "relay-config-does-not-exist.alloy");
  await assert.rejects(loadConfig(missing, {}), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /^.*relay-config-does-not-exist\.alloy: cannot read configuration: ENOENT/);
    assert.equal((error.cause as NodeJS.ErrnoException).code, "ENOENT");
    return true;
  });
});

/** Writes `files` (path relative to a new temporary directory -> contents) and returns the directory. */
async function configDirectory(t: { after: (fn: () => Promise<void>) => void }, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "relay-config-dir-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [path, contents] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), contents);
  }
  return dir;
}

const receive = 'pyroscope.receive_http "in" {\n  forward_to = [pyroscope.write.w.receiver]\n}\n';
const write = 'pyroscope.write "w" {\n  endpoint {\n    url = "http://pyroscope:4040"\n  }\n}\n';

async function loadErrors(path: string): Promise<string[]> {
  try {
    await loadConfig(path, {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split("\n");
  }
  assert.fail("expected a ConfigError");
}

test("reads every *.alloy file of a directory as one configuration, in order of name", async (t) => {
  const dir = await configDirectory(t, {
    "b-write.alloy": write,
    "a-receive.alloy": receive,
    "c.alloy": 'logging {\n}\npyroscope.write "z" {\n  endpoint {\n    url = "http://z"\n  }\n}\n',
    "notes.txt": "not a configuration {",
    "nested/d.alloy": "not read {",
    "e.alloy/f.alloy": "not read either {",
  });
  const config = await loadConfig(dir, {});
  assert.deepEqual(
    config.receivers.map((r) => r.targets),
    [["w"]],
  );
  assert.deepEqual(
    config.targets.map((t) => t.name),
    ["w", "z"],
  );
  assert.deepEqual(config.ignored, [{ name: "logging", file: join(dir, "c.alloy"), line: 1, col: 1 }]);
});

test("follows a symbolic link to a file, as Alloy does", async (t) => {
  const dir = await configDirectory(t, { "conf/receive.alloy": receive, "shared/write.alloy": write });
  await symlink(join(dir, "shared/write.alloy"), join(dir, "conf/write.alloy"));
  assert.deepEqual(
    (await loadConfig(join(dir, "conf"), {})).targets.map((t) => t.name),
    ["w"],
  );
});

test("reports problems in every file of a directory, each with its file", async (t) => {
  const dir = await configDirectory(t, {
    "a.alloy": `${receive + write}oops\n`,
    "b.alloy": "x = [\n",
    "c.alloy": write,
  });
  assert.deepEqual(await loadErrors(dir), [
    `${join(dir, "a.alloy")}:10:1: expected "=" or "{" after oops, got end of file`,
    `${join(dir, "b.alloy")}:2:1: expected a value, got end of file`,
  ]);
});

test("reports a component defined in two files at the second, naming the first", async (t) => {
  const dir = await configDirectory(t, { "a.alloy": receive + write, "b.alloy": `\n${write}` });
  assert.deepEqual(await loadErrors(dir), [
    `${join(dir, "b.alloy")}:2:1: duplicate component pyroscope.write "w"; first defined at ${join(dir, "a.alloy")}:4:1`,
  ]);
});

test("reports a directory without *.alloy files, and a link to nowhere", async (t) => {
  const empty = await configDirectory(t, { "relay.txt": receive, "sub/relay.alloy": receive });
  assert.deepEqual(await loadErrors(empty), [`${empty}: no *.alloy file in this directory`]);
  const broken = await configDirectory(t, { "a.alloy": receive + write });
  await symlink(join(broken, "missing"), join(broken, "b.alloy"));
  const [message] = await loadErrors(broken);
  assert.match(message ?? "", new RegExp(`^${join(broken, "b.alloy")}: cannot read configuration: ENOENT`));
});

test("reports a configuration without a receiver once, for the whole directory", async (t) => {
  const dir = await configDirectory(t, { "a.alloy": write, "b.alloy": "logging {\n}\n" });
  assert.deepEqual(await loadErrors(dir), [`${dir}: no pyroscope.receive_http component: nothing would receive profiles`]);
});

test("reads the target names alone for the operator commands: no file read, no secret or endpoint setting checked", async (t) => {
  const configFile = await configFileOf(
    t,
    `pyroscope.receive_http "in" {
  forward_to = [pyroscope.write.cloud.receiver, pyroscope.write.pair.receiver]
  http {
    tls {
      cert_file = "/nowhere/cert.pem"
      key_file  = "/nowhere/key.pem"
    }
  }
}
pyroscope.write "cloud" {
  endpoint {
    url = "https://cloud.example"
    oauth2 {
      client_id     = "relay"
      client_secret = sys.env("OAUTH_SECRET_THAT_IS_NOT_SET")
      token_url     = "https://auth.example/token"
    }
  }
}
pyroscope.write "pair" {
  endpoint {
    name = "eu"
    url  = "http://eu.example"
    basic_auth {
      username      = "relay"
      password_file = "/run/secrets/not-here"
    }
  }
  endpoint {
    url = "http://us.example"
  }
}
`,
  );
  await assert.rejects(loadConfig(configFile, {}), ConfigError, "the whole configuration needs the secrets");
  assert.deepEqual(await loadTargetNames(configFile, {}), ["cloud", "pair/eu", "pair/1"]);
});

test("reports a configuration whose target names cannot be read: a syntax error, a file that cannot be read", async (t) => {
  const configFile = await configFileOf(t, 'pyroscope.write "w" {\n  endpoint {\n    url = "http://x"\n  \n');
  await assert.rejects(loadTargetNames(configFile, {}), (error: unknown) => error instanceof ConfigError && /relay\.alloy:\d+:\d+: /.test(error.message));
  await assert.rejects(loadTargetNames(join(dirname(configFile), "missing.alloy"), {}), /cannot read configuration: ENOENT/);
});

test("names targets as the whole configuration does: a numeric endpoint name is its text, a name from sys.env is read", async (t) => {
  const configFile = await configFileOf(
    t,
    `pyroscope.receive_http "in" {
  forward_to = [pyroscope.write.w.receiver]
}
pyroscope.write "w" {
  endpoint {
    name = 7
    url  = "http://a.example"
  }
  endpoint {
    name = sys.env("REGION")
    url  = "http://b.example"
  }
  endpoint {
    url = "http://c.example"
  }
}
`,
  );
  const env = { REGION: "eu" };
  const names = await loadTargetNames(configFile, env);
  assert.deepEqual(names, ["w/7", "w/eu", "w/2"]);
  assert.deepEqual(
    names,
    (await loadConfig(configFile, env)).targets.map((target) => target.name),
  );
});

/** A receiver serving TLS with files that are not on this host, forwarding to a target whose own files are. */
function receiverTlsElsewhere(targetFiles: { caFile: string; tokenFile: string }): string {
  return `pyroscope.receive_http "in" {
  http {
    tls {
      cert_file        = "/nowhere/server.crt"
      key_file         = "/nowhere/server.key"
      client_ca_file   = "/nowhere/ca.crt"
      client_auth_type = "RequireAndVerifyClientCert"
    }
  }
  grpc {
    tls {
      cert_file = "/nowhere/grpc.crt"
      key_file  = "/nowhere/grpc.key"
    }
  }
  forward_to = [pyroscope.write.w.receiver]
}
local.file "token" {
  filename  = ${JSON.stringify(targetFiles.tokenFile)}
  is_secret = true
}
pyroscope.write "w" {
  endpoint {
    url          = "https://pyroscope:4040"
    bearer_token = local.file.token.content
    tls_config {
      ca_file = ${JSON.stringify(targetFiles.caFile)}
    }
  }
}
`;
}

async function loadErrorsOf(load: Promise<unknown>): Promise<string[]> {
  try {
    await load;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split("\n");
  }
  assert.fail("expected a ConfigError");
}

test("a process that serves no receiver (a writer) reads none of their tls files; one that does refuses them missing, at file:line:col", async (t) => {
  const configFile = await configFileOf(t, "");
  const caFile = join(dirname(configFile), "ca.pem");
  const tokenFile = join(dirname(configFile), "token");
  await writeFile(caFile, "the target's CA\n");
  await writeFile(tokenFile, "t0ken");
  await writeFile(configFile, receiverTlsElsewhere({ caFile, tokenFile }));

  const writer = await loadConfig(configFile, {}, { servesReceivers: false });
  assert.deepEqual(writer.receivers, [], "a writer's configuration lists no receiver");
  assert.deepEqual(
    writer.targets.map(({ name, auth, tls }) => ({ name, auth, ca: tls?.ca })),
    [{ name: "w", auth: { kind: "bearer", token: "t0ken" }, ca: "the target's CA\n" }],
    "the target's own files and the local.file it reads are read",
  );
  assert.deepEqual(
    writer.localFiles.map((file) => file.path),
    [tokenFile],
  );

  const enoent = (path: string) => `cannot read "${path}": ENOENT: no such file or directory, open '${path}'`;
  const refused = [
    `${configFile}:4:26: cert_file: ${enoent("/nowhere/server.crt")}`,
    `${configFile}:5:26: key_file: ${enoent("/nowhere/server.key")}`,
    `${configFile}:6:26: client_ca_file: ${enoent("/nowhere/ca.crt")}`,
    `${configFile}:12:19: cert_file: ${enoent("/nowhere/grpc.crt")}`,
    `${configFile}:13:19: key_file: ${enoent("/nowhere/grpc.key")}`,
  ];
  assert.deepEqual(await loadErrorsOf(loadConfig(configFile, {})), refused, "ingest, run and check read them");
  assert.deepEqual(await loadErrorsOf(loadConfig(configFile, {}, { servesReceivers: true })), refused);
});

test("a process that serves no receiver still refuses what it would use, a receiver's mistakes and any syntax error", async (t) => {
  const configFile = await configFileOf(t, "");
  const caFile = join(dirname(configFile), "ca.pem");
  const tokenFile = join(dirname(configFile), "token");
  await writeFile(caFile, "the target's CA\n");
  await writeFile(tokenFile, "t0ken");
  const valid = receiverTlsElsewhere({ caFile, tokenFile });
  const writerErrors = async (text: string) => {
    await writeFile(configFile, text);
    return loadErrorsOf(loadConfig(configFile, {}, { servesReceivers: false }));
  };

  assert.deepEqual(await writerErrors(valid.replace(JSON.stringify(caFile), '"/nowhere/target-ca.pem"')), [
    `${configFile}:27:17: ca_file: cannot read "/nowhere/target-ca.pem": ENOENT: no such file or directory, open '/nowhere/target-ca.pem'`,
  ]);
  assert.match(
    (await writerErrors(valid.replace(JSON.stringify(tokenFile), '"/nowhere/token"'))).join("\n"),
    /local\.file "token": cannot read "\/nowhere\/token"/,
  );
  // The block is checked as written: a certificate without its key, a client CA nothing asks for.
  assert.deepEqual(
    await writerErrors(valid.replace(/ {6}key_file {9}= "\/nowhere\/server\.key"\n/, "").replace('"RequireAndVerifyClientCert"', '"NoClientCert"')),
    [
      `${configFile}:3:5: a tls block needs key_pem or key_file`,
      `${configFile}:5:26: client_ca_file: a client CA needs a client_auth_type other than NoClientCert, e.g. RequireAndVerifyClientCert`,
    ],
  );
  assert.deepEqual(await writerErrors(valid.replace("pyroscope.write.w.receiver", "pyroscope.write.x.receiver")), [
    `${configFile}:16:17: forward_to[0]: pyroscope.write "x" does not exist`,
  ]);
  assert.deepEqual(
    await writerErrors(
      valid.replace('      client_auth_type = "RequireAndVerifyClientCert"\n', '      client_auth_type = "RequireAndVerifyClientCert"\n    }\n'),
    ),
    [`${configFile}:18:1: expected a block or attribute, got "}"`],
  );
});
