import { expect } from '@playwright/test';
import { hydrated, newPage, signInDemo, test } from './helpers';

test('an enterprise admin assigns a sequence as mandatory with a due date; the member finds it in the inbox and cannot leave it', async ({ page, browser, pageErrors }) => {
  await signInDemo(page, 'owner@demo.cairn.test', 'Olivia Owner');
  await page.goto('/sequences');
  await hydrated(page);
  await page.getByRole('link', { name: 'New-manager onboarding' }).click();
  await expect(page.getByRole('heading', { name: 'New-manager onboarding' })).toBeVisible();
  await hydrated(page);

  const assign = page.getByRole('region', { name: 'Assign' });
  // Nobody chosen: the error is next to the choices and nothing is lost.
  await assign.getByRole('button', { name: 'Assign' }).click();
  await expect(assign.getByText('Choose at least one person or team.')).toBeVisible();

  await assign.getByRole('group', { name: 'People' }).getByLabel('Clara Client').check();
  await assign.getByLabel('Mandatory (assignees cannot leave it)').check();
  const due = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  await assign.getByLabel('Due date').fill(due);
  await assign.getByRole('button', { name: 'Assign' }).click();
  await expect(assign.getByRole('status')).toHaveText('Assigned to 1 person: Clara Client.');
  const progress = page.getByRole('region', { name: 'Assigned people' });
  await expect(progress.getByRole('rowheader', { name: 'Clara Client (mandatory)' })).toBeVisible();

  // Clara's first message arrives by itself; the inbox link counts it.
  const clara = await newPage(browser, pageErrors);
  await signInDemo(clara, 'client@demo.cairn.test', 'Clara Client');
  await expect(async () => {
    await clara.reload();
    await expect(clara.getByRole('link', { name: /^Inbox, \d+ unread$/ })).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await clara.getByRole('link', { name: /^Inbox/ }).click();
  await expect(clara.getByRole('heading', { name: 'Inbox' })).toBeVisible();
  await clara.getByRole('link', { name: 'New-manager onboarding' }).click();
  await expect(clara.getByText('Assigned to you as mandatory.')).toBeVisible();
  await expect(clara.getByRole('log', { name: 'Messages' })).toContainText('Congratulations on your new role, Clara!');
  await expect(clara.getByRole('button', { name: 'Pause' })).toBeVisible();
  await expect(clara.getByRole('button', { name: 'Leave sequence' })).toHaveCount(0);
  // Shown: no longer unread.
  await clara.reload();
  await expect(clara.getByRole('link', { name: 'Inbox', exact: true })).toBeVisible();
});
