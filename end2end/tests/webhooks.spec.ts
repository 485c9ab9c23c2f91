import { expect } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { createServer, IncomingHttpHeaders } from 'node:http';
import { AddressInfo } from 'node:net';
import { hydrated, signInDemo, test } from './helpers';

type Delivery = { headers: IncomingHttpHeaders; body: string };

/** A real HTTP receiver on a free port that keeps every request and answers with queued codes. */
async function receiver() {
  const received: Delivery[] = [];
  const answers: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(answers.shift() ?? 200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hooks/cairn`, received, answers, close: () => server.close() };
}

function verify(secret: string, delivery: Delivery): boolean {
  const header = String(delivery.headers['cairn-signature']);
  const t = header.match(/t=(\d+)/)?.[1];
  const v1 = header.match(/v1=([0-9a-f]+)/)?.[1];
  return v1 === createHmac('sha256', secret).update(`${t}.${delivery.body}`).digest('hex');
}

test('an admin adds a webhook, sends a test event, sees a prompt event delivered and redelivers it', async ({ page }) => {
  const sink = await receiver();
  try {
    await signInDemo(page, 'admin@demo.cairn.test', 'Adam Admin');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await expect(page.getByRole('heading', { name: 'Webhooks', level: 1 })).toBeVisible();
    await hydrated(page);

    // A wrong URL is explained next to the field, and what was typed stays.
    await page.getByLabel('Payload URL').fill('ftp://example.com/hook');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await expect(page.getByText('Use an http:// or https:// URL.')).toBeVisible();
    await expect(page.getByLabel('Payload URL')).toHaveValue('ftp://example.com/hook');

    await page.getByLabel('Payload URL').fill(sink.url);
    await page.getByLabel('Description').fill('Prompt sync');
    await expect(page.getByRole('checkbox', { name: /prompt\.created/ })).toBeChecked();
    await page.getByRole('checkbox', { name: /prompt\.deleted/ }).check();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secret = await page.getByLabel('Signing secret').inputValue();
    expect(secret).toMatch(/^whsec_/);

    await page.getByRole('link', { name: sink.url }).first().click();
    await expect(page.getByRole('heading', { name: 'Webhook', level: 1 })).toBeVisible();
    await hydrated(page);

    // A refused change is explained next to the field and keeps what was typed; a good one saves.
    await page.getByLabel('Description').fill('Prompt sync, all events');
    await page.getByLabel('Payload URL').fill('ftp://example.com/changed');
    await page.getByRole('button', { name: 'Save webhook' }).click();
    await expect(page.getByText('Use an http:// or https:// URL.')).toBeVisible();
    await page.waitForLoadState('networkidle');
    await expect(page.getByLabel('Payload URL')).toHaveValue('ftp://example.com/changed');
    await expect(page.getByLabel('Description')).toHaveValue('Prompt sync, all events');
    await page.getByLabel('Payload URL').fill(sink.url);
    await page.getByRole('button', { name: 'Save webhook' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
    await expect(page.getByLabel('Description')).toHaveValue('Prompt sync, all events');
    await expect(async () => {
      await page.getByRole('button', { name: 'Send test event' }).click();
      await expect(page.getByText('ping', { exact: true }).first()).toBeVisible({ timeout: 1_000 });
    }).toPass();
    await expect(page.getByRole('cell', { name: 'delivered' }).first()).toBeVisible();
    expect(sink.received.length).toBeGreaterThan(0);
    expect(JSON.parse(sink.received[0].body).type).toBe('ping');
    expect(verify(secret, sink.received[0])).toBe(true);

    // A prompt saved in the app arrives as prompt.created.
    const title = `Hooked ${Date.now()}`;
    const created = await page.request.post('/api/create_prompt', { data: { input: { title, body: 'Say hello.' } } });
    expect(created.status()).toBe(200);
    await expect.poll(() => sink.received.filter((d) => d.headers['cairn-event'] === 'prompt.created').length).toBe(1);
    const event = sink.received.find((d) => d.headers['cairn-event'] === 'prompt.created')!;
    expect(JSON.parse(event.body).data.prompt.title).toBe(title);
    expect(verify(secret, event)).toBe(true);

    await page.getByRole('button', { name: 'Refresh deliveries' }).click();
    const details = page.getByRole('button', { name: /^Details of prompt\.created/ });
    await details.click();
    await expect(page.getByText('Body sent')).toBeVisible();
    await expect(page.locator('pre.payload')).toContainText(title);

    // The receiver is down for the redelivery: the log shows its answer and a retry time.
    sink.answers.push(503);
    await page.getByRole('button', { name: /^Redeliver prompt\.created/ }).click();
    await expect(page.getByRole('cell', { name: 'HTTP 503' })).toBeVisible();
    await expect(page.getByText(/^retry /)).toBeVisible();
    const again = sink.received.filter((d) => d.headers['cairn-event'] === 'prompt.created');
    expect(again.length).toBe(2);
    expect(JSON.parse(again[1].body).id).toBe(JSON.parse(again[0].body).id);
  } finally {
    sink.close();
  }
});
