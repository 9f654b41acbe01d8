// An OAuth 2.0 token endpoint on 127.0.0.1 for the client credentials grant. It checks the client's
// credentials, hands out numbered tokens and records every token request.
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface TokenRequest {
  headers: IncomingHttpHeaders;
  /** The form the client posted. */
  form: Record<string, string>;
  /** Client id and secret, from Basic credentials or the form, as the client sent them. */
  clientId: string | undefined;
  clientSecret: string | undefined;
  via: "basic" | "form" | "none";
}

export interface TokenAnswer {
  status: number;
  headers?: OutgoingHttpHeaders;
  body: string;
}

export interface TokenServer {
  url: string;
  port: number;
  requests: TokenRequest[];
  /** Tokens handed out, in order: `token-1`, `token-2`, ... */
  issued: string[];
  /** The client secret accepted from now on (a rotation at the identity provider). */
  acceptSecret(secret: string): void;
  /** Answer the next requests with this instead of a token, until `undefined`. */
  answer(answer: TokenAnswer | undefined): void;
  close(): Promise<void>;
}

export interface TokenServerOptions {
  clientId: string;
  clientSecret: string;
  /** `expires_in` of the tokens; 0 leaves it out. */
  expiresIn?: number;
  /** Only accept credentials in the form, refusing Basic ones (some providers do). */
  formOnly?: boolean;
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const requests: TokenRequest[] = [];
  const issued: string[] = [];
  let secret = options.clientSecret;
  let fixed: TokenAnswer | undefined;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
      const [id, password] = basic ? Buffer.from(basic[1]!, "base64").toString().split(/:(.*)/s) : [];
      const recorded: TokenRequest = basic
        ? { headers: req.headers, form, clientId: decode(id), clientSecret: decode(password), via: "basic" }
        : { headers: req.headers, form, clientId: form["client_id"], clientSecret: form["client_secret"], via: form["client_id"] ? "form" : "none" };
      requests.push(recorded);
      const send = (answer: TokenAnswer): void => void res.writeHead(answer.status, answer.headers).end(answer.body);
      if (fixed) return send(fixed);
      const valid = recorded.clientId === options.clientId && recorded.clientSecret === secret && !(options.formOnly && recorded.via === "basic");
      if (form["grant_type"] !== "client_credentials" || !valid) {
        return send({ status: 401, headers: { "content-type": "application/json" }, body: '{"error":"invalid_client"}' });
      }
      const token = `token-${issued.length + 1}`;
      issued.push(token);
      const lifetime = options.expiresIn ? { expires_in: options.expiresIn } : {};
      send({ status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ access_token: token, token_type: "bearer", ...lifetime }) });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth/token`,
    port,
    requests,
    issued,
    acceptSecret(next) {
      secret = next;
    },
    answer(next) {
      fixed = next;
    },
    async close() {
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Basic credentials of an OAuth client are form-encoded (RFC 6749 2.3.1). */
function decode(text: string | undefined): string | undefined {
  return text === undefined ? undefined : decodeURIComponent(text.replace(/\+/g, " "));
}
