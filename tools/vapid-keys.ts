/**
 * `npm run vapid:keys`: a fresh VAPID key pair for Web Push. Put the private key in the
 * deployment as a secret (`npx wrangler secret put VAPID_PRIVATE_KEY`); the server derives and
 * serves the public key (`GET /v1/push/key`), printed here too.
 */
import { Buffer } from "node:buffer";

const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])) as CryptoKeyPair;
const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
const publicKey = Buffer.from(raw).toString("base64url");
console.log(`VAPID_PRIVATE_KEY=${jwk.d}`);
console.log(`# public key (served at GET /v1/push/key): ${publicKey}`);
