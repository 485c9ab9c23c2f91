import { expect, Page } from '@playwright/test';
import { hydrated, signInDemo, signUp, test, uniqueEmail } from './helpers';

/** Opens the editor of the prompt on the page, replaces its text and saves a new version. */
async function saveVersion(page: Page, text: string, note: string): Promise<void> {
  // The app marks itself hydrated before suspended parts of the page are: retry until the click takes.
  const edit = page.getByRole('button', { name: 'Edit' });
  await expect(async () => {
    if ((await edit.getAttribute('aria-expanded')) !== 'true') await edit.click();
    await expect(page.getByLabel('Prompt text')).toBeVisible({ timeout: 1_000 });
  }).toPass();
  await page.getByLabel('Prompt text').fill(text);
  await page.getByLabel('Change note').fill(note);
  await page.getByRole('button', { name: 'Save new version' }).click();
  await expect(page.getByText(note, { exact: true })).toBeVisible();
  await hydrated(page);
}

test('an editor versions, compares, reverts, labels, previews and finds a prompt', async ({ page }) => {
  const title = `Onboarding call ${Date.now()}`;
  await signInDemo(page, 'editor@demo.cairn.test', 'Edith Editor');
  await page.goto('/prompts/new');
  await hydrated(page);

  // A bad field is reported next to it and nothing typed is lost.
  await page.getByLabel('Prompt text').fill('Hello {{name}}, welcome to {{program}}.');
  await page.getByRole('button', { name: 'Create prompt' }).click();
  await expect(page.getByText('Give the prompt a title.')).toBeVisible();
  await expect(page.getByLabel('Prompt text')).toHaveValue('Hello {{name}}, welcome to {{program}}.');

  // Variables are found as they are typed and get definitions.
  const program = page.getByRole('group', { name: 'Variable program' });
  await expect(program).toBeVisible();
  await expect(page.getByRole('group', { name: 'Variable name' })).toBeVisible();
  await program.getByLabel('Default').fill('Cairn Basics');
  await program.getByLabel('Default').blur();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Tags').fill('onboarding, calls');
  await page.getByRole('button', { name: 'Create prompt' }).click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
  await hydrated(page);
  await expect(page.getByText(/^Version 1 ·/)).toBeVisible();

  await saveVersion(page, 'Hi {{name}}, welcome to {{program}}.\nWe start on Monday.', 'Friendlier');
  await expect(page.getByText(/^Version 2 ·/)).toBeVisible();
  await saveVersion(page, 'Hi {{name}}, welcome to {{program}}!\nWe start on Monday.\nBring a notebook.', 'Notebook');
  await expect(page.getByText(/^Version 3 ·/)).toBeVisible();

  // Compare version 1 with version 3, side by side and inline.
  await page.getByLabel('Compare version').selectOption('1');
  await page.getByLabel('with version').selectOption('3');
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
  const diff = page.getByRole('table', { name: 'Differences' });
  await expect(diff).toContainText('Bring a notebook.');
  await expect(diff).toContainText('Hello');
  await page.getByLabel('Inline').check();
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
  await expect(page.getByRole('table', { name: 'Differences' })).toContainText('Bring a notebook.');

  // Reverting makes a new version with the old text.
  await page.getByRole('button', { name: 'Revert to version 1' }).click();
  await expect(page.getByText(/^Version 4 ·/)).toBeVisible();
  await expect(page.getByRole('article', { name: 'Content' })).toContainText('Hello {{name}}, welcome to {{program}}.');
  await hydrated(page);

  // Editors may move staging, but production is for Owners and Admins.
  await page.getByLabel('Label', { exact: true }).fill('production');
  await page.getByLabel('Version', { exact: true }).selectOption('3');
  await page.getByRole('button', { name: 'Set label' }).click();
  await expect(page.getByText('Only an Owner or Admin may move the production label.')).toBeVisible();
  await page.getByLabel('Label', { exact: true }).fill('staging');
  await page.getByRole('button', { name: 'Set label' }).click();
  await expect(page.getByRole('list', { name: 'Labels' })).toContainText('staging → v3');

  // The test panel: a missing variable is named, never left blank.
  await page.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByText('“name” is required.')).toBeVisible();
  await page.getByLabel('name', { exact: true }).fill('Ada');
  await page.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByLabel('Rendered prompt')).toHaveText('Hello Ada, welcome to Cairn Basics.');

  // Comments: an empty one is refused next to the field; a posted one renders its Markdown.
  await page.getByRole('button', { name: 'Post comment' }).click();
  await expect(page.getByText('Write something first.')).toBeVisible();
  await page.getByLabel('Comment', { exact: true }).fill('Ready for review, @adam? The **notebook** line is new.');
  await page.getByRole('button', { name: 'Post comment' }).click();
  const posted = page.getByRole('article', { name: 'Comment by Edith Editor' });
  await expect(posted.locator('.comment-body strong')).toHaveText('notebook');
  await expect(page.getByLabel('Comment', { exact: true })).toHaveValue('');
  const promptPath = new URL(page.url()).pathname;

  // Search forgives a typo and highlights the match.
  await page.goto('/prompts');
  await hydrated(page);
  // A search that excludes without including is refused next to the field, and kept.
  await page.getByLabel('Search prompts').fill('-draft');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page.getByLabel('Search prompts')).toHaveAccessibleDescription(
    /Add a word to search for \(NOT alone excludes from nothing\)\./,
  );
  await expect(page.getByLabel('Search prompts')).toHaveValue('-draft');
  await expect(page.getByText('Fix the search above.')).toBeVisible();
  await page.getByLabel('Search prompts').fill('onbording');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  const hit = page.getByRole('article', { name: title });
  await expect(hit).toBeVisible();
  await expect(hit.locator('mark').first()).toHaveText('Onboarding');

  // The mentioned Admin sees the notification, follows it and replies in the thread.
  await page.context().clearCookies();
  await signInDemo(page, 'admin@demo.cairn.test', 'Adam Admin');
  await page.getByRole('link', { name: /Notifications, \d+ unread/ }).click();
  await page.getByRole('link', { name: `Edith Editor mentioned you on “${title}”` }).click();
  await expect(page).toHaveURL(new RegExp(`${promptPath}#comment-`));
  await hydrated(page);
  const thread = page.getByRole('article', { name: 'Comment by Edith Editor' });
  const replyButton = thread.getByRole('button', { name: 'Reply to Edith Editor' });
  await expect(async () => {
    if ((await replyButton.getAttribute('aria-expanded')) !== 'true') await replyButton.click();
    await expect(page.getByLabel('Your reply to Edith Editor')).toBeVisible({ timeout: 1_000 });
  }).toPass();
  await page.getByLabel('Your reply to Edith Editor').fill('Looks good to me.');
  await page.getByRole('button', { name: 'Post reply' }).click();
  await expect(thread.getByRole('article', { name: 'Comment by Adam Admin' })).toContainText('Looks good to me.');
});

test('an admin creates an API key and calls the REST API with it', async ({ page }) => {
  await signInDemo(page, 'admin@demo.cairn.test', 'Adam Admin');
  await page.goto('/org/api-keys');
  await hydrated(page);
  await page.getByLabel('Key name').fill(`Zapier ${Date.now()}`);
  await page.getByLabel('Scope').selectOption('read');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = await page.getByLabel('New API key').inputValue();
  expect(secret).toMatch(/^cairn_/);

  const answer = await page.request.get('/api/v1/prompts?limit=5', { headers: { authorization: `Bearer ${secret}` } });
  expect(answer.status()).toBe(200);
  expect(answer.headers()['ratelimit-limit']).toBeTruthy();
  const body = await answer.json();
  expect(body.items.length).toBeGreaterThan(0);

  const refused = await page.request.post('/api/v1/prompts', {
    headers: { authorization: `Bearer ${secret}` },
    data: { title: 'Nope', body: 'A read key cannot write.' },
  });
  expect(refused.status()).toBe(403);
  expect((await refused.json()).code).toBe('forbidden');

  // The end-to-end server allows 30 requests per key and hour: the next ones are refused.
  let limited = answer;
  for (let i = 0; i < 40 && limited.status() !== 429; i++) {
    limited = await page.request.get('/api/v1/tags', { headers: { authorization: `Bearer ${secret}` } });
  }
  expect(limited.status()).toBe(429);
  expect((await limited.json()).code).toBe('rate_limited');
  expect(Number(limited.headers()['retry-after'])).toBeGreaterThan(0);
  expect(limited.headers()['ratelimit-remaining']).toBe('0');
});

/** Creates a prompt through its server function, as the signed-in page's user. */
async function createPrompt(page: Page, title: string): Promise<string> {
  const answer = await page.request.post('/api/create_prompt', { data: { input: { title, body: `Text of ${title}.` } } });
  expect(answer.status(), await answer.text()).toBe(200);
  return await answer.json();
}

test('an editor files prompts into collections by selection and by drag and drop, and favorites one', async ({ page }) => {
  const stamp = Date.now();
  await signInDemo(page, 'editor@demo.cairn.test', 'Edith Editor');
  const [first, second, third] = [`Intro call ${stamp}`, `Follow-up ${stamp}`, `Wrap-up ${stamp}`];
  for (const title of [first, second, third]) await createPrompt(page, title);

  await page.goto('/prompts');
  await hydrated(page);
  // Only this test's prompts, so the list is short.
  await page.getByLabel('Search prompts').fill(String(stamp));
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page.getByRole('list', { name: 'Prompts' }).getByRole('article')).toHaveCount(3);
  const library = page.getByRole('navigation', { name: 'Library' });
  await library.getByLabel('New collection').fill(`Calls ${stamp}`);
  await library.getByRole('button', { name: 'Add collection' }).click();
  const folder = library.getByRole('button', { name: new RegExp(`^Calls ${stamp}`) });
  await expect(folder).toBeVisible();

  // Select two and move them with the keyboard-friendly bulk bar.
  await page.getByRole('checkbox', { name: `Select ${first}` }).check();
  await page.getByRole('checkbox', { name: `Select ${second}` }).check();
  const bulk = page.getByRole('region', { name: 'Selected prompts' });
  await expect(bulk).toContainText('2 selected');
  await bulk.getByLabel('Action').selectOption('move');
  await bulk.getByLabel('Collection').selectOption({ label: `Calls ${stamp}` });
  await bulk.getByRole('button', { name: 'Apply' }).click();
  await expect(bulk.getByRole('status')).toHaveText('Changed 2 prompts.');

  // Drag the third onto the collection.
  await page.getByRole('article', { name: third }).dragTo(folder);
  await expect(library.getByRole('status')).toHaveText('Moved 1 prompt.');

  await folder.click();
  await expect(folder).toHaveAttribute('aria-pressed', 'true');
  const list = page.getByRole('list', { name: 'Prompts' });
  await expect(list.getByRole('article')).toHaveCount(3);

  // Favorites.
  await page.getByRole('button', { name: `Favorite ${second}` }).click();
  await expect(page.getByRole('button', { name: `Favorite ${second}` })).toHaveAttribute('aria-pressed', 'true');
  await library.getByRole('button', { name: 'My favorites' }).click();
  await expect(list.getByRole('article', { name: second })).toBeVisible();
  await expect(list.getByRole('article', { name: first })).toHaveCount(0);

  // Duplicate from the prompt's page lands on the copy, filed in the same collection.
  await list.getByRole('article', { name: second }).getByRole('link').click();
  await hydrated(page);
  await page.getByRole('button', { name: 'Duplicate' }).click();
  await expect(page.getByRole('heading', { name: `Copy of ${second}` })).toBeVisible();
  await hydrated(page);
  await expect(page.getByLabel('Collection')).toHaveValue(/.+/);
});

test('an admin adds a custom category with a colour', async ({ page }) => {
  await signInDemo(page, 'admin@demo.cairn.test', 'Adam Admin');
  await page.goto('/prompts');
  await hydrated(page);
  const panel = page.getByRole('region', { name: 'Categories' });
  const name = `Coaching ${Date.now()}`;
  await panel.getByLabel('New category').fill(name);
  await panel.getByLabel('Icon').fill('🧭');
  await panel.getByRole('button', { name: 'Add category' }).click();
  await expect(panel.getByRole('button', { name: `Remove category ${name}` })).toBeVisible();
  await panel.getByRole('button', { name: `Remove category ${name}` }).click();
  await expect(panel.getByText(name)).toHaveCount(0);

  // The export links download the library.
  const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  const csv = await page.request.get(href!);
  expect(csv.status()).toBe(200);
  expect(await csv.text()).toMatch(/^id,title,description,status/);
});

test('an admin exports the library as JSON and imports it into a new organization', async ({ page }) => {
  await signInDemo(page, 'admin@demo.cairn.test', 'Adam Admin');
  await page.goto('/prompts');
  await hydrated(page);
  const href = await page.getByRole('link', { name: 'Export JSON' }).getAttribute('href');
  const exported = await page.request.get(href!);
  expect(exported.status()).toBe(200);
  const library = await exported.json();
  const titles: string[] = library.prompts.map((p: { title: string }) => p.title);
  expect(titles.length).toBeGreaterThan(0);

  // A newcomer with an organization of their own brings the library in.
  await page.context().clearCookies();
  await signUp(page, 'Ingrid Importer', uniqueEmail('importer'));
  await page.goto('/orgs');
  await hydrated(page);
  await page.getByLabel('Organization name').fill(`Imported Coaching ${Date.now()}`);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page.getByRole('heading', { name: /Members of Imported Coaching/ })).toBeVisible();

  await page.goto('/prompts/import');
  await hydrated(page);
  // A CSV with a broken row is refused, each problem shown next to its line.
  await page.getByLabel('File (JSON or CSV)').setInputFiles({
    name: 'broken.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('title,content,status\nGood,Some text.,draft\n,No title,live\n'),
  });
  const problems = page.getByRole('table', { name: 'Prompts with problems' });
  await expect(problems.getByRole('row', { name: /line 3/ })).toContainText('Give the prompt a title.');
  await expect(problems.getByRole('row', { name: /line 3/ })).toContainText('status');
  await expect(page.getByRole('button', { name: /^Import/ })).toHaveCount(0);

  // The JSON export is clean and imports whole.
  await page.getByLabel('File (JSON or CSV)').setInputFiles({
    name: 'prompts.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(library)),
  });
  await expect(page.getByRole('heading', { name: 'Ready to import' })).toBeVisible();
  await expect(page.getByLabel('Format')).toHaveValue('json');
  const plural = titles.length === 1 ? 'prompt' : 'prompts';
  await page.getByRole('button', { name: `Import ${titles.length} ${plural}` }).click();
  await expect(page.getByRole('status').filter({ hasText: `Imported ${titles.length} ${plural}` })).toBeVisible();
  await page.getByRole('link', { name: 'See the prompts' }).click();
  // The list opens with the most recently updated, which kept its time through the import.
  const newest = [...library.prompts].sort((a, b) => b.updated_at.localeCompare(a.updated_at))[0].title;
  await expect(page.getByRole('link', { name: newest, exact: true }).first()).toBeVisible();
});
