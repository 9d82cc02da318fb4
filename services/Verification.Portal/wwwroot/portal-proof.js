// "Prove it": checks in the auditor's browser, with WebCrypto and nothing from the server but a Merkle path and a signed
// tree head, that an entry shown on the page is in the log the auditor's key signed. Formats (services/Verification.Audit.Verifier):
//   leaf = SHA-256(0x00 ‖ canonical bytes), node = SHA-256(0x01 ‖ left ‖ right)                       (RFC 6962 §2.1)
//   inclusion proof checked as RFC 9162 §2.1.3.2
//   signed head = ECDSA P-256 / SHA-256, DER signature, over 74 bytes: "verification-audit/sth/v1\0" ‖ size u64 BE ‖
//   timestamp ms u64 BE ‖ root hash; the key is the SubjectPublicKeyInfo PEM the auditor was given (never the server's word).
"use strict";

const KEY_STORE = "verification-portal-log-key";

document.addEventListener("DOMContentLoaded", () => {
  const keyBox = document.querySelector("[data-proof-key]");
  if (keyBox) {
    keyBox.value = localStorage.getItem(KEY_STORE) || "";
    keyBox.addEventListener("change", () => localStorage.setItem(KEY_STORE, keyBox.value.trim()));
  }
  for (const button of document.querySelectorAll("button[data-prove]")) {
    button.addEventListener("click", () => prove(button.closest(".entry"), keyBox ? keyBox.value.trim() : ""));
  }
});

const words = () => document.getElementById("proof-words").dataset;

async function prove(entry, pem) {
  const steps = entry.querySelector(".proof-steps");
  steps.replaceChildren();
  entry.dataset.proof = "running";
  const say = (text, ok) => {
    const item = document.createElement("li");
    item.textContent = text;
    if (ok !== undefined) item.className = ok ? "pass" : "fail";
    steps.appendChild(item);
  };
  const verdict = (ok) => {
    const item = document.createElement("li");
    item.className = "verdict " + (ok ? "pass" : "fail");
    item.textContent = ok ? words().proved : words().failed;
    steps.appendChild(item);
    entry.dataset.proof = ok ? "proved" : "failed";
  };
  try {
    if (!pem) { say(words().noKey, false); verdict(false); return; }
    let key;
    try {
      key = await importKey(pem);
    } catch {
      say(words().badKey, false); verdict(false); return;
    }

    const bytes = base64Bytes(entry.dataset.canonical);
    const leaf = await sha256(concat(new Uint8Array([0]), bytes));
    say(`${words().leaf} ${hex(leaf)}`, true);

    const mismatches = fieldMismatches(entry, bytes);
    say(mismatches.length === 0 ? words().fields : `${words().fieldsBad} ${mismatches.join(", ")}`, mismatches.length === 0);

    const response = await fetch(`/audit/bukti/${entry.dataset.index}`, { credentials: "same-origin", headers: { accept: "application/json" } });
    if (!response.ok) { say(`${words().server} (${response.status})`, false); verdict(false); return; }
    const proof = await response.json();
    say(`${words().fetch} ${proof.head.treeSize} / ${proof.path.length}`, true);

    const index = Number(entry.dataset.index);
    const root = await rootFromInclusionProof(leaf, index, proof.head.treeSize, proof.path.map(fromHex));
    const signedRoot = fromHex(proof.head.rootHash);
    const rootOk = root !== null && proof.leafIndex === index && proof.treeSize === proof.head.treeSize && equal(root, signedRoot);
    say(rootOk ? `${words().root} ${hex(signedRoot)}` : `${words().rootBad} ${root ? hex(root) : "—"} ≠ ${hex(signedRoot)}`, rootOk);

    const signed = headBytes(proof.head.treeSize, proof.head.timestampMs, signedRoot);
    const signatureOk = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, derToRaw(fromHex(proof.head.signature)), signed);
    say(signatureOk ? words().signature : words().signatureBad, signatureOk);

    verdict(rootOk && signatureOk && mismatches.length === 0);
  } catch (error) {
    say(String(error), false);
    verdict(false);
  }
}

async function importKey(pem) {
  const body = pem.replace(/-----BEGIN PUBLIC KEY-----|-----END PUBLIC KEY-----|\s/g, "");
  if (!pem.includes("BEGIN PUBLIC KEY")) throw new Error("not a public key");
  return crypto.subtle.importKey("spki", base64Bytes(body), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
}

// RFC 9162 §2.1.3.2: the root the path leads to, or null when the path cannot be right for this index and size.
async function rootFromInclusionProof(leaf, index, size, path) {
  if (index < 0 || index >= size || path.some((p) => p.length !== 32)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await node(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

function node(left, right) {
  return sha256(concat(new Uint8Array([1]), left, right));
}

// The 74 bytes a tree head signature covers.
function headBytes(size, timestampMs, root) {
  const context = new TextEncoder().encode("verification-audit/sth/v1\0");
  const numbers = new DataView(new ArrayBuffer(16));
  numbers.setBigUint64(0, BigInt(size));
  numbers.setBigUint64(8, BigInt(timestampMs));
  return concat(context, new Uint8Array(numbers.buffer), root);
}

// WebCrypto takes r ‖ s (32 bytes each); the log signs DER SEQUENCE { INTEGER r, INTEGER s }.
function derToRaw(der) {
  if (der[0] !== 0x30) throw new Error("signature is not DER");
  let offset = 2;
  if (der[1] & 0x80) offset = 2 + (der[1] & 0x7f);
  const integer = () => {
    if (der[offset] !== 0x02) throw new Error("signature is not DER");
    const length = der[offset + 1];
    let value = der.slice(offset + 2, offset + 2 + length);
    offset += 2 + length;
    while (value.length > 32 && value[0] === 0) value = value.slice(1);
    if (value.length > 32) throw new Error("signature integer too long");
    const padded = new Uint8Array(32);
    padded.set(value, 32 - value.length);
    return padded;
  };
  return concat(integer(), integer());
}

// The fields the page states beside the bytes must be what the bytes say (the verifier's EntryFieldsCheck, in short).
function fieldMismatches(entry, bytes) {
  let json;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return ["canonical_bytes"];
  }
  const keys = json.keys || {};
  const d = entry.dataset;
  const expected = [
    ["format", "verification-audit/entry/v1", json.format],
    ["event_id", d.eventId, json.eventId],
    ["event_type", d.eventType, json.eventType],
    ["occur_time", d.occurred, json.occurredAt],
    ["append_time", d.appended, json.appendedAt],
    ["acting_member_code", d.acting, json.actingMember],
    ["correlation_id", d.correlation, json.correlationId],
    ["trace_id", d.trace, json.traceId ?? ""],
    ["keys.masked_nik", d.maskedNik, keys.maskedNik ?? ""],
    ["keys.participant_number", d.participant, keys.participantNumber ?? ""],
    ["keys.member_code", d.member, keys.memberCode ?? ""],
    ["keys.loan_reference", d.loan, keys.loanReference ?? ""],
    ["keys.batch_id", d.batch, keys.batchId ?? ""],
  ];
  return expected.filter(([, stated, encoded]) => (stated ?? "") !== (encoded ?? "")).map(([field]) => field);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function base64Bytes(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function fromHex(text) {
  return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
