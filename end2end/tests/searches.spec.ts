import { expect } from '@playwright/test';
import { hydrated, newPage, signInDemo, test } from './helpers';

test('an editor saves a shared search; a viewer opens it from the list; recent searches are kept', async ({ page, browser, pageErrors }) => {
  await signInDemo(page, 'editor@demo.cairn.test', 'Edith Editor');
  await page.goto('/prompts');
  await hydrated(page);
  const search = page.getByRole('search');
  await search.getByLabel('Search prompts').fill('onboardng');
  await search.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('list', { name: 'Prompts' })).toContainText('Onboarding email');
  // The address shows the search, so it can be bookmarked and passed on.
  await expect(page).toHaveURL(/\/prompts\?q=onboardng$/);
  await expect(page.getByRole('list', { name: 'Recent searches' })).toContainText('“onboardng”');

  const searches = page.getByRole('region', { name: 'Searches' });
  const name = `Onboarding typo ${Date.now()}`;
  await searches.getByRole('button', { name: 'Save search' }).click();
  await expect(searches.getByText('Name the search')).toBeVisible();
  await searches.getByLabel('Name of this search').fill(name);
  await searches.getByLabel('Share with the organization').check();
  await searches.getByRole('button', { name: 'Save search' }).click();
  await expect(searches.getByRole('list', { name: 'Saved searches' }).getByRole('link', { name })).toBeVisible();

  const viewer = await newPage(browser, pageErrors);
  await signInDemo(viewer, 'viewer@demo.cairn.test', 'Victor Viewer');
  await viewer.goto('/prompts');
  await hydrated(viewer);
  const shared = viewer.getByRole('list', { name: 'Saved searches' }).getByRole('link', { name });
  await expect(viewer.getByRole('button', { name: `Delete saved search ${name}` })).toHaveCount(0);
  await shared.click();
  await hydrated(viewer);
  await expect(viewer.getByRole('search').getByLabel('Search prompts')).toHaveValue('onboardng');
  await expect(viewer.getByRole('list', { name: 'Prompts' })).toContainText('Onboarding email');

  // The editor deletes it again.
  await searches.getByRole('button', { name: `Delete saved search ${name}` }).click();
  await expect(searches.getByRole('link', { name })).toHaveCount(0);
});
