import { expect } from '@playwright/test';
import { hydrated, signInDemo, test } from './helpers';

test('a member asks for new sequence messages by email and in Slack; a bad webhook address is refused next to the field', async ({ page }) => {
  await signInDemo(page, 'mentor@demo.cairn.test', 'Maya Mentor');
  await page.goto('/settings');
  await hydrated(page);
  const card = page.getByRole('region', { name: 'Sequence messages' });
  await card.getByLabel('Email me new messages, with a link to reply').check();
  const url = card.getByLabel('Slack or Teams webhook URL');
  await url.fill('hooks.slack.com/services/T000');
  await card.getByRole('button', { name: 'Save message settings' }).click();
  await expect(card.getByText('Use an http:// or https:// URL.')).toBeVisible();
  await expect(url).toHaveValue('hooks.slack.com/services/T000');

  await url.fill('https://hooks.slack.com/services/T000/B000/XXXX');
  await card.getByRole('button', { name: 'Save message settings' }).click();
  await expect(card.getByText('Saved.')).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(card.getByLabel('Email me new messages, with a link to reply')).toBeChecked();
  await expect(card.getByLabel('Slack or Teams webhook URL')).toHaveValue('https://hooks.slack.com/services/T000/B000/XXXX');
});
