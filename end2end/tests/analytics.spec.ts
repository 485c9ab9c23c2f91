import { expect } from '@playwright/test';
import { hydrated, signInDemo, test } from './helpers';

test('an admin sees prompt analytics, changes the period and downloads them as CSV', async ({ page }) => {
  await signInDemo(page, 'admin@demo.cairn.test', 'Adam Admin');
  // A use today: render a demo prompt through the test panel.
  await page.goto('/prompts');
  await page.getByRole('link', { name: 'Goal check-in' }).first().click();
  await hydrated(page);
  const panel = page.getByRole('region', { name: 'Test', exact: true });
  await panel.getByLabel('name', { exact: true }).fill('Ada');
  await panel.getByLabel('goal', { exact: true }).fill('running a marathon');
  await panel.getByRole('button', { name: 'Preview' }).click();
  await expect(panel.getByLabel('Rendered prompt')).toContainText('Ada');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Analytics' }).click();
  await expect(page.getByRole('heading', { name: 'Analytics', level: 1 })).toBeVisible();
  await hydrated(page);
  await expect(page.getByRole('img', { name: /Uses per day from/ })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Most used prompts' })).toContainText('Goal check-in');
  await expect(page.getByRole('table', { name: 'Categories' })).toContainText('Sales');
  // A table when members did something in the period (other tests' doing), a note otherwise.
  await expect(page.getByRole('region', { name: 'Activity by member' })).toBeVisible();

  await page.getByLabel('Period').selectOption({ label: 'Last 7 days' });
  const download = page.getByRole('link', { name: 'Download CSV' });
  await expect(download).toHaveAttribute('href', /analytics\.csv\?days=7$/);
  const csv = await page.request.get((await download.getAttribute('href'))!);
  expect(csv.status()).toBe(200);
  const text = await csv.text();
  expect(text).toContain('Day,Views,Uses');
  expect(text).toContain('Goal check-in');
});

test('a viewer has no analytics', async ({ page }) => {
  await signInDemo(page, 'viewer@demo.cairn.test', 'Victor Viewer');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Analytics' })).toHaveCount(0);
  await page.goto('/analytics');
  await expect(page.getByText('Only Owners and Admins see the organization')).toBeVisible();
});
