// Signs an image digest offline as Sigstore keyless signing does -- with @sigstore/mock's Fulcio CA, CT log
// and Rekor (in-process, reached through nock; nothing leaves the machine) -- and attaches the bundle to the
// image with @sigstore/oci (the referrers API, else the `sha256-<hex>` tag-schema fallback index).
//
//   node sign.js REGISTRY REPOSITORY DIGEST MANIFEST_FILE OUT_DIR SUBJECT ISSUER [--no-attach]
//                [--attest REPOSITORY2 DIGEST2 PREDICATE_TYPE]...
//                [--key-attest KEY_PEM REPOSITORY2 DIGEST2 PREDICATE_TYPE]...
//                [--key-sign KEY_PEM REPOSITORY2 DIGEST2 MANIFEST_FILE2]...
//                [--also-sign REPOSITORY2 DIGEST2 MANIFEST_FILE2]...
//                [--predicate FILE] [--subjects DIGEST,...] (before an --attest / --key-attest: for that one)
//
// The bundle is a message signature over the image manifest bytes (its digest is the image digest).
// Writes OUT_DIR/bundle.json and OUT_DIR/trusted_root.json (the mock CA, Rekor and CT log keys, in the
// Sigstore trusted_root.json format imagegate reads). The CA key pair is fresh for every run.
// Each --attest also makes, with the same CA and identity, a DSSE attestation: an in-toto statement whose
// subject is DIGEST2 and whose predicateType is PREDICATE_TYPE (what `cosign attest` / sigstore-js
// `attest` write), attached to REPOSITORY2@DIGEST2 (unless --no-attach) and written to
// OUT_DIR/attestation-N.json (N from 1).
// --key-attest and --key-sign make key-based bundles (verification material: a public key hint, no
// certificate, no log entry; what `cosign attest --key` / `cosign sign --key` write with the new bundle
// format and no transparency log) with the EC private key in KEY_PEM: a DSSE attestation about DIGEST2, or
// a message signature over MANIFEST_FILE2 (whose SHA-256 must be DIGEST2); attached like the others.
// --predicate FILE puts the JSON in FILE in the next attestation's statement as its predicate (a real SLSA
// provenance v1 or SPDX document; default: an empty predicate); --subjects D1,D2 makes the next statement's
// subjects those digests instead of DIGEST2 (a statement about another image, or several).
// Each --also-sign makes another keyless message signature, with the same CA and identity, over
// MANIFEST_FILE2 (whose SHA-256 must be DIGEST2), attached to REPOSITORY2@DIGEST2 (bench/cold.sh: many
// images under one trusted root; attached even with --no-attach, which is for the main bundle).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const nock = require('nock');
const { initializeCA, initializeCTLog, initializeTLog, fulcioHandler, rekorHandler } = require('@sigstore/mock');
const { attest, sign } = require('sigstore');
const { attachArtifactToImage } = require('@sigstore/oci');

const FULCIO_URL = 'https://fulcio.imagegate.test';
const REKOR_URL = 'https://rekor.imagegate.test';
const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

function serve(base, handler) {
  nock(base)
    .persist()
    .post(handler.path)
    .reply(async (_uri, body) => {
      const request = typeof body === 'string' ? body : JSON.stringify(body);
      const { statusCode, response, contentType } = await handler.fn(request);
      return [statusCode, response, { 'Content-Type': contentType || 'text/plain' }];
    });
}

// Attaches a bundle to IMAGE@DIGEST; `predicateType` set: a DSSE attestation, else a message signature.
function attachBundle(bundle, imageName, imageDigest, predicateType) {
  return attachArtifactToImage({
    artifact: Buffer.from(JSON.stringify(bundle)),
    mediaType: BUNDLE_MEDIA_TYPE,
    imageName,
    imageDigest,
    annotations: predicateType
      ? { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': predicateType }
      : { 'dev.sigstore.bundle.content': 'message-signature' },
  });
}

// An in-toto statement of PREDICATE_TYPE about IMAGE's DIGEST (or about `subjects`, digests, when given),
// whose predicate is the JSON text `predicate` (default: an empty object). Written as text, so a predicate
// nested deeper than JSON.parse/stringify would go is carried as it is.
function intotoStatement(imageName, digest, predicateType, predicate, subjects) {
  const digests = subjects && subjects.length ? subjects : [digest];
  const head = JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: digests.map((d) => ({ name: imageName, digest: { sha256: d.replace(/^sha256:/, '') } })),
    predicateType,
  });
  return Buffer.from(`${head.slice(0, -1)},"predicate":${predicate || '{}'}}`);
}

function b64url(object) {
  return Buffer.from(JSON.stringify(object)).toString('base64url');
}

function spki(publicKey) {
  const key = Buffer.isBuffer(publicKey) ? crypto.createPublicKey({ key: publicKey, format: 'der', type: 'spki' }) : publicKey;
  return key.export({ format: 'der', type: 'spki' });
}

async function main() {
  const [registry, repository, digest, manifestFile, outDir, subject, issuer, ...rest] = process.argv.slice(2);
  if (!issuer) throw new Error('usage: node sign.js REGISTRY REPOSITORY DIGEST MANIFEST_FILE OUT_DIR SUBJECT ISSUER');
  let attach = true;
  const attestations = [];
  const keyed = [];
  const others = [];
  let pending = {};  // --predicate / --subjects for the next attestation
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--no-attach') {
      attach = false;
    } else if (rest[i] === '--predicate' && i + 1 < rest.length) {
      pending.predicate = fs.readFileSync(rest[i + 1], 'utf8');
      i += 1;
    } else if (rest[i] === '--subjects' && i + 1 < rest.length) {
      pending.subjects = rest[i + 1].split(',');
      i += 1;
    } else if (rest[i] === '--attest' && i + 3 < rest.length) {
      attestations.push({ repository: rest[i + 1], digest: rest[i + 2], predicateType: rest[i + 3], ...pending });
      pending = {};
      i += 3;
    } else if ((rest[i] === '--key-attest' || rest[i] === '--key-sign') && i + 4 < rest.length) {
      keyed.push({ attest: rest[i] === '--key-attest', key: rest[i + 1], repository: rest[i + 2], digest: rest[i + 3],
                   extra: rest[i + 4], ...pending });
      pending = {};
      i += 4;
    } else if (rest[i] === '--also-sign' && i + 3 < rest.length) {
      others.push({ repository: rest[i + 1], digest: rest[i + 2], manifest: rest[i + 3] });
      i += 3;
    } else {
      throw new Error(`unknown argument ${rest[i]}`);
    }
  }
  const manifest = fs.readFileSync(manifestFile);
  const actual = 'sha256:' + crypto.createHash('sha256').update(manifest).digest('hex');
  if (actual !== digest) throw new Error(`manifest digest ${actual} is not ${digest}`);

  const caKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ctKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const rekorKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ctlog = await initializeCTLog(ctKeys);
  const ca = await initializeCA(caKeys, ctlog);
  const tlog = await initializeTLog(REKOR_URL, rekorKeys);
  serve(FULCIO_URL, fulcioHandler(ca, { strict: true, subjectClaim: 'email' }));
  serve(REKOR_URL, rekorHandler(tlog, { strict: true }));

  const now = Math.floor(Date.now() / 1000);
  const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({
    iss: issuer, sub: subject, email: subject, email_verified: true, aud: 'sigstore', iat: now, exp: now + 600,
  })}.`;
  const options = { fulcioURL: FULCIO_URL, rekorURL: REKOR_URL, identityToken: token };
  const bundle = await sign(manifest, options);
  // The mock log is a fresh one-entry tree per entry, so the inclusion proof's logIndex is 0, which proto3
  // JSON omits: the bundle is written as sigstore-js made it, and imagegate must read the absence as 0.
  fs.writeFileSync(path.join(outDir, 'bundle.json'), JSON.stringify(bundle));

  const start = new Date(Date.now() - 3600 * 1000).toISOString();
  const rekorSpki = spki(rekorKeys.publicKey);
  const ctSpki = spki(ctKeys.publicKey);
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{
      baseUrl: REKOR_URL,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: rekorSpki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: crypto.createHash('sha256').update(rekorSpki).digest('base64') },
    }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: FULCIO_URL,
      certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate).toString('base64') }] },
      validFor: { start },
    }],
    ctlogs: [{
      baseUrl: 'https://ctfe.imagegate.test',
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: ctSpki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: Buffer.from(ctlog.logID).toString('base64') },
    }],
    timestampAuthorities: [],
  };
  fs.writeFileSync(path.join(outDir, 'trusted_root.json'), JSON.stringify(trustedRoot, null, 2));

  for (const [n, a] of attestations.entries()) {
    const statement = intotoStatement(`${registry}/${a.repository}`, a.digest, a.predicateType, a.predicate, a.subjects);
    const attestation = await attest(statement, 'application/vnd.in-toto+json', options);
    fs.writeFileSync(path.join(outDir, `attestation-${n + 1}.json`), JSON.stringify(attestation));
    if (attach) {
      await attachBundle(attestation, `${registry}/${a.repository}`, a.digest, a.predicateType);
    }
  }

  for (const k of keyed) {
    const key = crypto.createPrivateKey(fs.readFileSync(k.key));
    let keyBundle;
    if (k.attest) {
      const statement = intotoStatement(`${registry}/${k.repository}`, k.digest, k.extra, k.predicate, k.subjects);
      const type = 'application/vnd.in-toto+json';
      const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${statement.length} `), statement]);
      keyBundle = {
        mediaType: BUNDLE_MEDIA_TYPE,
        verificationMaterial: { publicKey: { hint: 'release' }, tlogEntries: [], timestampVerificationData: {} },
        dsseEnvelope: { payload: statement.toString('base64'), payloadType: type,
                        signatures: [{ sig: crypto.sign('sha256', pae, key).toString('base64'), keyid: '' }] },
      };
    } else {
      const manifest2 = fs.readFileSync(k.extra);
      const hash = crypto.createHash('sha256').update(manifest2).digest();
      if ('sha256:' + hash.toString('hex') !== k.digest) throw new Error(`${k.extra} is not ${k.digest}`);
      keyBundle = {
        mediaType: BUNDLE_MEDIA_TYPE,
        verificationMaterial: { publicKey: { hint: 'release' }, tlogEntries: [], timestampVerificationData: {} },
        messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: hash.toString('base64') },
                            signature: crypto.sign('sha256', manifest2, key).toString('base64') },
      };
    }
    if (attach) {
      await attachBundle(keyBundle, `${registry}/${k.repository}`, k.digest, k.attest ? k.extra : null);
    }
  }

  for (const o of others) {
    const manifest2 = fs.readFileSync(o.manifest);
    if ('sha256:' + crypto.createHash('sha256').update(manifest2).digest('hex') !== o.digest) {
      throw new Error(`${o.manifest} is not ${o.digest}`);
    }
    const other = await sign(manifest2, options);
    await attachBundle(other, `${registry}/${o.repository}`, o.digest, null);
  }

  if (attach) {
    await attachBundle(bundle, `${registry}/${repository}`, digest, null);
  }
}

// Exit once the work is done: a handle left open by a library must not keep the test waiting.
main().then(() => process.exit(0), (err) => {
  console.error(err && err.stack ? err.stack : String(err));
  if (err && err.cause) console.error('cause:', err.cause);
  process.exit(1);
});
