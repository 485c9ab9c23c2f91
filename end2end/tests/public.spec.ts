import { expect } from '@playwright/test';
import { hydrated, newPage, signInDemo, test } from './helpers';

test('a public, published prompt opens for a guest by its public link', async ({ page, browser, pageErrors }) => {
  await signInDemo(page, 'editor@demo.cairn.test', 'Edith Editor');
  const title = `Public opener ${Date.now()}`;
  const created = await page.request.post('/api/create_prompt', {
    data: { input: { title, body: 'Open the session with **{{name}}**.', visibility: 'public', status: 'published' } },
  });
  expect(created.ok()).toBeTruthy();
  const id: string = await created.json();

  await page.goto(`/prompts/${id}`);
  await hydrated(page);
  const share = page.getByRole('button', { name: 'Share' });
  await expect(async () => {
    if ((await share.getAttribute('aria-expanded')) !== 'true') await share.click();
    await expect(page.getByLabel('Public link')).toBeVisible({ timeout: 1_000 });
  }).toPass();
  const link = await page.getByLabel('Public link').inputValue();
  expect(link).toMatch(new RegExp(`/p/${id}$`));

  const guest = await newPage(browser, pageErrors);
  await guest.goto(new URL(link).pathname);
  await expect(guest.getByRole('heading', { name: title, level: 1 })).toBeVisible();
  await expect(guest.getByRole('article', { name: title })).toContainText('Shared by Edith Editor of Acme Coaching');
  await expect(guest.getByLabel('Content').locator('strong')).toHaveText('{{name}}');

  // An organization-only prompt shows nothing to a guest.
  const first = await page.request.post('/api/prompts', { data: { params: {} } });
  const hidden = (await first.json()).items.find((p: any) => p.id !== id).id;
  await guest.goto(`/p/${hidden}`);
  await expect(guest.getByRole('heading', { name: 'Prompt not found' })).toBeVisible();
});
