import { expect, Page } from '@playwright/test';
import { hydrated, signInDemo, test } from './helpers';

async function createPrompt(page: Page, title: string): Promise<string> {
  const answer = await page.request.post('/api/create_prompt', { data: { input: { title, body: `Text of ${title}.` } } });
  expect(answer.status(), await answer.text()).toBe(200);
  return await answer.json();
}

test('the organization feed and a prompt feed show what happened; the share link names who can open it', async ({ page }) => {
  await signInDemo(page, 'editor@demo.cairn.test', 'Edith Editor');
  const title = `Feed ${Date.now()}`;
  const id = await createPrompt(page, title);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity' }).click();
  await expect(page.getByRole('heading', { name: 'Activity', level: 1 })).toBeVisible();
  const feed = page.getByRole('list', { name: 'Activity' });
  await expect(feed.getByRole('listitem').first()).toContainText('Edith Editor');
  await feed.getByRole('link', { name: `created “${title}”` }).click();
  await expect(page.getByRole('heading', { name: title, level: 1 })).toBeVisible();
  await hydrated(page);

  const share = page.getByRole('button', { name: 'Share' });
  await expect(async () => {
    if ((await share.getAttribute('aria-expanded')) !== 'true') await share.click();
    await expect(page.getByLabel('Link to this prompt')).toBeVisible({ timeout: 1_000 });
  }).toPass();
  await expect(page.getByLabel('Link to this prompt')).toHaveValue(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/prompts/${id}$`));
  await expect(page.getByText('Members of this organization can open it once signed in')).toBeVisible();

  await page.locator('#main').getByText('Activity', { exact: true }).click();
  await expect(page.getByRole('list', { name: 'Activity' })).toContainText(`created “${title}”`);
});

test('an owner exports a selection of prompts as Markdown files', async ({ page }) => {
  await signInDemo(page, 'owner@demo.cairn.test', 'Olivia Owner');
  const title = `Export ${Date.now()}`;
  const id = await createPrompt(page, title);
  await page.goto(`/prompts?q=${encodeURIComponent(title)}`);
  await hydrated(page);
  const select = page.getByRole('checkbox', { name: `Select ${title}` });
  await expect(async () => {
    await select.check();
    await expect(page.getByText('1 selected')).toBeVisible({ timeout: 1_000 });
  }).toPass();
  const link = page.getByRole('region', { name: 'Selected prompts' }).getByRole('link', { name: 'Markdown' });
  const href = await link.getAttribute('href');
  expect(href).toContain(`prompts.zip?ids=${id}`);
  const answer = await page.request.get(href!);
  expect(answer.status()).toBe(200);
  expect(answer.headers()['content-type']).toBe('application/zip');
  const body = await answer.body();
  expect(body.subarray(0, 4).toString('binary')).toBe('PK\x03\x04');
  expect(body.includes(Buffer.from(`export-${title.split(' ')[1]}.md`))).toBe(true);
});
