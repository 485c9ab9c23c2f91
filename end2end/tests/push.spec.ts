import { expect } from '@playwright/test';
import crypto from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { hydrated, signInDemo, test } from './helpers';

type Push = { path: string; headers: http.IncomingHttpHeaders; body: Buffer };

/** A push service on loopback, speaking just enough of RFC 8030: it keeps each push and answers 201. */
async function pushService(): Promise<{ url: string; pushes: Push[]; close: () => void }> {
  const pushes: Push[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      pushes.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, pushes, close: () => server.close() };
}

const hmac = (key: Buffer, data: Buffer) => crypto.createHmac('sha256', key).update(data).digest();

/** What the browser does with a push (RFC 8291, aes128gcm): derive the key from its own key pair and secret. */
function decrypt(body: Buffer, browser: crypto.ECDH, auth: Buffer): string {
  const salt = body.subarray(0, 16);
  const idLength = body[20];
  const serverKey = body.subarray(21, 21 + idLength);
  const sealed = body.subarray(21 + idLength);
  const shared = browser.computeSecret(serverKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), browser.getPublicKey(), serverKey, Buffer.from([1])]);
  const ikm = hmac(hmac(auth, shared), keyInfo);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01', 'binary')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01', 'binary')).subarray(0, 12);
  const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const padded = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 2, then optional zero padding.
  return padded.subarray(0, padded.lastIndexOf(2)).toString('utf8');
}

test('a person turns push notifications on for this device, gets a test notification encrypted for it, and turns them off', async ({ page, context }) => {
  const service = await pushService();
  const browser = crypto.createECDH('prime256v1');
  browser.generateKeys();
  const auth = crypto.randomBytes(16);
  const keys = { p256dh: browser.getPublicKey().toString('base64url'), auth: auth.toString('base64url') };
  const endpoint = `${service.url}/push/this-device`;
  await context.grantPermissions(['notifications']);
  // Headless Chromium reaches no push service: the page's PushManager hands out a subscription at
  // the test's service, with keys the test holds, as a browser's would be.
  await page.addInitScript(({ endpoint, keys }) => {
    let current: object | null = null;
    const subscription = {
      endpoint,
      toJSON: () => ({ endpoint, expirationTime: null, keys }),
      unsubscribe: async () => { current = null; return true; },
    };
    PushManager.prototype.subscribe = async function () { current = subscription; return subscription as unknown as PushSubscription; };
    PushManager.prototype.getSubscription = async function () { return current as PushSubscription | null; };
  }, { endpoint, keys });

  await signInDemo(page, 'client@demo.cairn.test', 'Clara Client');
  await page.goto('/settings');
  await hydrated(page);
  const card = page.getByRole('region', { name: 'Push notifications' });
  await expect(card.getByText('Push notifications are off on this device.')).toBeVisible();
  await card.getByRole('button', { name: 'Turn on push notifications on this device' }).click();
  await expect(card.getByText('This device gets push notifications.')).toBeVisible();

  await card.getByRole('button', { name: 'Send a test notification' }).click();
  await expect(card.getByText('Sent to 1 device.')).toBeVisible();
  expect(service.pushes).toHaveLength(1);
  const [push] = service.pushes;
  expect(push.path).toBe('/push/this-device');
  expect(push.headers['content-encoding']).toBe('aes128gcm');
  expect(push.headers.ttl).toBeTruthy();
  expect(push.headers.authorization).toMatch(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/);
  const notice = JSON.parse(decrypt(push.body, browser, auth));
  expect(notice.title).toBe('Cairn');
  expect(notice.body).toContain('Push notifications work on this device');

  await card.getByRole('button', { name: 'Turn off push notifications on this device' }).click();
  await expect(card.getByText('Push notifications are off on this device.')).toBeVisible();
  await card.getByRole('button', { name: 'Send a test notification' }).click();
  await expect(card.getByText('No device of yours gets push notifications.')).toBeVisible();
  expect(service.pushes).toHaveLength(1);
  service.close();
});
