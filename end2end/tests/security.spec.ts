import { expect } from '@playwright/test';
import { hydrated, signInDemo, test } from './helpers';

test('repeated failed sign-ins are rate limited', async ({ browser }) => {
  // This client poses as its own address (the e2e server trusts X-Forwarded-For) so the limit
  // it trips does not affect other tests.
  const context = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': '203.0.113.77' } });
  const page = await context.newPage();
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByLabel('Email').fill('owner@demo.cairn.test');
  const password = page.getByLabel('Password');
  const submit = page.getByRole('button', { name: 'Sign in' });
  for (let attempt = 0; attempt < 5; attempt++) {
    await password.fill(`wrong password ${attempt}`);
    await submit.click();
    await expect(page.getByText('That email and password do not match an account.')).toBeVisible();
    await expect(submit).toBeEnabled();
  }
  await password.fill('cairn-demo-2026');
  await submit.click();
  await expect(page.getByRole('alert').filter({ hasText: 'Too many attempts' })).toBeVisible();
  await context.close();
});

test('a demo account signs in and sees its role', async ({ page }) => {
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByLabel('Email').fill('viewer@demo.cairn.test');
  await page.getByLabel('Password').fill('cairn-demo-2026');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Welcome, Victor Viewer' })).toBeVisible();
  await page.getByRole('combobox', { name: 'Organization' }).selectOption({ label: 'Acme Coaching (Viewer)' });
  // Switching reloads the page; wait for that, or it cuts the next navigation short.
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Switch' }).click()]);
  await hydrated(page);
  await expect(page.getByText('Your role:')).toContainText('Viewer');
  // Times are shown in the person's timezone (the demo accounts use Europe/Berlin), not UTC.
  await page.goto('/org/members');
  await hydrated(page);
  const joined = page.locator('main time').first();
  await expect(joined).not.toContainText('UTC');
  await expect(joined).toContainText(/GMT\+1|CET|GMT\+2|CEST/);
  await page.getByLabel('Account menu for Victor Viewer').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Programs that start the conversation' })).toBeVisible();
});

test('a system admin grants and revokes the creator role', async ({ page }) => {
  await signInDemo(page, 'sysadmin@demo.cairn.test', 'Sam Sysadmin');
  await page.getByRole('link', { name: 'Platform' }).click();
  await hydrated(page);
  const search = page.getByLabel('Search by email or name');
  await search.fill('client@demo');
  await search.press('Enter');
  await expect(page.getByRole('cell', { name: /client@demo\.cairn\.test/ })).toBeVisible();
  await page.getByRole('button', { name: 'Grant Creator to Clara Client' }).click();
  const revoke = page.getByRole('button', { name: 'Revoke Creator from Clara Client' });
  await expect(revoke).toBeVisible();
  await expect(revoke).toHaveAttribute('aria-pressed', 'true');
  await revoke.click();
  await expect(page.getByRole('button', { name: 'Grant Creator to Clara Client' })).toBeVisible();
});

test('people without the platform role see no admin page', async ({ page }) => {
  await signInDemo(page, 'owner@demo.cairn.test', 'Olivia Owner');
  await expect(page.getByRole('link', { name: 'Platform' })).toHaveCount(0);
  await page.goto('/admin/users');
  await expect(page.getByRole('alert').filter({ hasText: 'You do not have permission' })).toBeVisible();
});

test('the owner of an enterprise organization names an enterprise admin', async ({ page }) => {
  await signInDemo(page, 'owner@demo.cairn.test', 'Olivia Owner');
  await page.goto('/org/members');
  await hydrated(page);
  const row = page.getByRole('row').filter({ hasText: 'editor@demo.cairn.test' });
  await expect(row).toContainText('No');
  await page.getByRole('button', { name: 'Make enterprise admin: Edith Editor' }).click();
  await expect(page.getByRole('button', { name: 'Remove enterprise admin: Edith Editor' })).toBeVisible();
  await expect(row).toContainText('Yes');
  await page.getByRole('button', { name: 'Remove enterprise admin: Edith Editor' }).click();
  await expect(page.getByRole('button', { name: 'Make enterprise admin: Edith Editor' })).toBeVisible();
});
