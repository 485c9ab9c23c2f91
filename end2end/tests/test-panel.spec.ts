import { expect } from '@playwright/test';
import { createServer, IncomingHttpHeaders } from 'node:http';
import { AddressInfo } from 'node:net';
import { hydrated, signInDemo, test } from './helpers';

/**
 * A local OpenAI-compatible chat-completions server: answers `Echo: <last message>` word by word
 * as server-sent events, a little apart, with a usage chunk and `[DONE]`.
 */
async function fakeModel() {
  const requests: { headers: IncomingHttpHeaders; body: any }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', async () => {
      const body = JSON.parse(raw || '{}');
      requests.push({ headers: req.headers, body });
      const last: string = body.messages?.at(-1)?.content ?? '';
      const answer = `Echo: ${last}`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const word of answer.split(/(?<= )/)) {
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: word } }] })}\n\n`);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      const usage = { prompt_tokens: last.split(/\s+/).length, completion_tokens: answer.split(/\s+/).length };
      res.write(`data: ${JSON.stringify({ choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { baseUrl: `http://127.0.0.1:${port}/v1`, requests, close: () => server.close() };
}

test('an admin sets the AI model; the test panel saves a case, compares two versions and streams a run', async ({ page }) => {
  const model = await fakeModel();
  try {
    await signInDemo(page, 'admin@demo.cairn.test', 'Adam Admin');
    // A prompt with two versions, made through the same server functions the editor uses.
    const title = `Greeter ${Date.now()}`;
    const created = await page.request.post('/api/create_prompt', {
      data: { input: { title, body: 'Greet {{name}} in {{city}}.' } },
    });
    expect(created.ok()).toBeTruthy();
    const id: string = await created.json();
    const updated = await page.request.post('/api/update_prompt', {
      data: { id, base_version: 1, input: { title, body: 'Warmly greet {{name}} in {{city}}.' } },
    });
    expect(updated.ok()).toBeTruthy();

    // Without a model, Run says why it cannot.
    await page.goto('/org/settings');
    await hydrated(page);
    const remove = page.getByRole('button', { name: "Remove this organization's model" });
    if (await remove.isVisible()) {
      await remove.click();
      await expect(page.getByText('No model is set')).toBeVisible();
    }
    await page.goto(`/prompts/${id}`);
    await hydrated(page);
    await expect(page.getByRole('button', { name: 'Run: no model configured' })).toBeDisabled();

    // The admin sets the model; a bad address is explained next to the field.
    await page.goto('/org/settings');
    await hydrated(page);
    const ai = page.getByRole('region', { name: 'AI model' });
    await ai.getByLabel('Base URL').fill('ftp://models.example');
    await ai.getByLabel('Model').fill('e2e-echo');
    await ai.getByRole('button', { name: 'Save AI model' }).click();
    await expect(ai.getByText('Use an http:// or https:// URL.')).toBeVisible();
    // Once everything the refusal set off has settled, what was typed is still there to correct.
    await page.waitForLoadState('networkidle');
    await expect(ai.getByLabel('Base URL')).toHaveValue('ftp://models.example');
    await expect(ai.getByLabel('Model')).toHaveValue('e2e-echo');
    await ai.getByLabel('Base URL').fill(model.baseUrl);
    await ai.getByLabel('API key').fill('sk-e2e');
    await ai.getByRole('button', { name: 'Save AI model' }).click();
    await expect(ai.getByRole('status').filter({ hasText: 'Runs use e2e-echo' })).toContainText(model.baseUrl);

    await page.goto(`/prompts/${id}`);
    await hydrated(page);
    const panel = page.getByRole('region', { name: 'Test', exact: true });
    await panel.getByLabel('name', { exact: true }).fill('Ada');
    await panel.getByLabel('city', { exact: true }).fill('Lisbon');

    // Save the values as a test case, change them, and load the case back.
    await panel.getByLabel('Test case name').fill('Lisbon case');
    await panel.getByRole('button', { name: 'Save test case' }).click();
    await expect(panel.getByText('Saved “Lisbon case”.')).toBeVisible();
    await panel.getByLabel('name', { exact: true }).fill('Bo');
    await panel.getByLabel('Saved test cases').selectOption({ label: 'Lisbon case' });
    await expect(panel.getByLabel('name', { exact: true })).toHaveValue('Ada');

    // The case rendered with version 1 beside version 2.
    await panel.getByLabel('Render version').selectOption({ label: 'Version 1' });
    await panel.getByLabel('beside version').selectOption({ label: 'Version 2' });
    await panel.getByRole('button', { name: 'Compare versions' }).click();
    await expect(panel.getByRole('group', { name: 'Version 1 rendered' })).toContainText('Greet Ada in Lisbon.');
    await expect(panel.getByRole('group', { name: 'Version 2 rendered' })).toContainText('Warmly greet Ada in Lisbon.');

    // Run: the answer streams in from the model.
    await panel.getByRole('button', { name: 'Run', exact: true }).click();
    await expect(panel.getByLabel('Model answer')).toHaveText('Echo: Warmly greet Ada in Lisbon.');
    await expect(panel.getByText(/Done: \d+ tokens in, \d+ out\./)).toBeVisible();
    const sent = model.requests.at(-1)!;
    expect(sent.headers.authorization).toBe('Bearer sk-e2e');
    expect(sent.body.model).toBe('e2e-echo');
    expect(sent.body.stream).toBe(true);
  } finally {
    model.close();
  }
});
