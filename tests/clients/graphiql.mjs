// Headless Chromium (Debian's, driven by playwright-core) opens GraphiQL on the live server and
// does what a person would, step by step (STEPS, a JSON list), recording what the page shows
// after each: the editor and result panes, the Docs explorer, the page's notice about the
// schema, the editor tabs. The URL may carry GraphiQL's parameters (FRAGMENT: "#query=...").
// Also prints what the page requested (and whether anything failed or left localhost), its
// schema requests and websocket frames, and saves a screenshot to SCREENSHOT.
//
// Steps ({"do": ..., ...}):
//   {"do": "docs", "open": ["Product"]}  open the Docs, go back to its first page, then click
//                                        the named types in turn; records each page's text
//                                        and field names.
//   {"do": "run"}                        click the run button: runs what the editor holds;
//                                        records the request, its answer, and the result pane.
//   {"do": "type", "query": "..."}       select all in the editor and type over it.
//   {"do": "headers", "text": "..."}     open the Headers pane and paste `text` into it.
//   {"do": "variables", "text": "..."}   the same with the Variables pane.
//   {"do": "tab", "title": "SignIn"}     click the editor tab of that title; records the
//                                        editor and Variables pane it then shows.
//   {"do": "refetchSchema"}              GraphiQL's "Re-fetch GraphQL schema" button.
//   {"do": "loadDocs"}                   the page's own "Load the Docs" button (the notice).
//   {"do": "live", "productId", "username", "password", "name"}
//        the editor holds a subscription: run it (GraphiQL's websocket, graphql-ws), and, as
//        another client, sign in with tokenAuth and rename the product with updateProduct
//        over HTTP until the event shows in the result pane (the first rename may race the
//        subscription's registration). Each attempt renames to `${name} #n`.
import { chromium } from 'playwright-core';

import { graphqlUrl, run } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SCREENSHOT = process.env.SCREENSHOT;
const STEPS = JSON.parse(process.env.STEPS || '[]');
// Appended to the page's URL: GraphiQL's parameters, as a shared link has them (#query=...).
const FRAGMENT = process.env.FRAGMENT || '';
const LIVE_ATTEMPTS = 5;
const LIVE_WAIT_MS = 2_000;
const WAIT_MS = 15_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
// What this machine's closed network needs, and no background traffic of Chromium's own.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Timings go to stderr, which pytest shows when the test fails.
const T0 = Date.now();
const mark = (what) => process.stderr.write(`${what} ${Date.now() - T0} ms\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition, what, timeout = WAIT_MS) {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A GraphQL request over HTTP from this script (not the page), with a JWT if given. */
async function graphql(query, variables, token) {
  const response = await fetch(graphqlUrl(), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() };
}

async function signIn({ username, password }) {
  const { body } = await graphql(
    'mutation SignIn($input: TokenAuthInput!) { tokenAuth(input: $input) { token } }',
    { input: { username, password } },
  );
  const token = body.data?.tokenAuth?.token;
  if (!token) throw new Error(`tokenAuth failed: ${JSON.stringify(body)}`);
  return token;
}

const editorValue = (selector) => {
  const cm = document.querySelector(selector);
  return cm ? cm.CodeMirror.getValue() : null;
};
const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const RESULT_EDITOR = '.result-window .CodeMirror';

function operationNameOf(request) {
  try {
    return JSON.parse(request.postData() || '{}').operationName ?? null;
  } catch {
    return null;
  }
}

/** The editor tabs GraphiQL shows (none while there is only one): title, and which is active. */
function editorTabs(page) {
  return page.locator('.graphiql-session-header .graphiql-tab').evaluateAll((tabs) => tabs.map(
    (tab) => ({
      title: tab.querySelector('.graphiql-tab-button')?.innerText.trim() ?? null,
      active: tab.classList.contains('graphiql-tab-active'),
    }),
  ));
}

/** What the page shows outside the editors: its notice, GraphiQL's schema error, the tabs. */
async function pageState(page) {
  const bodyText = await page.locator('body').innerText();
  const notice = page.locator('#vitrine-introspection-notice');
  return {
    tabs: await editorTabs(page),
    notice: (await notice.count()) ? await notice.innerText() : null,
    loadDocsButton: (await page.locator('#vitrine-load-docs').count()) > 0,
    showsErrorFetchingSchema: bodyText.includes('Error fetching schema'),
    showsIntrospectionDisabled: bodyText.includes('INTROSPECTION_DISABLED'),
  };
}

async function openDocs(page) {
  const explorer = page.locator('.graphiql-doc-explorer');
  if (!(await explorer.count())) {
    await page.locator('button[aria-label="Show Documentation Explorer"]').click();
  }
  await explorer.waitFor({ state: 'visible', timeout: WAIT_MS });
  // Back to the first page (the header's back link names the previous page).
  while (await page.locator('.graphiql-doc-explorer-back').count()) {
    await page.locator('.graphiql-doc-explorer-back').click();
  }
}

async function docsPage(page) {
  const content = page.locator('.graphiql-doc-explorer-content');
  return {
    title: await page.locator('.graphiql-doc-explorer-title').innerText(),
    text: await content.innerText(),
    fields: await content.locator('.graphiql-doc-explorer-field-name').allInnerTexts(),
    typeLinks: await content.locator('.graphiql-doc-explorer-type-name').allInnerTexts(),
  };
}

async function docsStep(page, step) {
  await openDocs(page);
  // The first page settles once the schema is in (or GraphiQL says there is none).
  await page.waitForFunction(() => {
    const content = document.querySelector('.graphiql-doc-explorer-content');
    return content && !content.querySelector('.graphiql-spinner') && content.innerText.trim();
  }, null, { timeout: WAIT_MS });
  const pages = [await docsPage(page)];
  for (const name of step.open || []) {
    const link = page
      .locator('.graphiql-doc-explorer-content a.graphiql-doc-explorer-type-name')
      .filter({ hasText: new RegExp(`^${name}$`) })
      .first();
    await link.click({ timeout: WAIT_MS });
    await page.locator('.graphiql-doc-explorer-title', { hasText: new RegExp(`^${name}$`) })
      .waitFor({ timeout: WAIT_MS });
    pages.push(await docsPage(page));
  }
  return { pages };
}

async function typeQuery(page, query) {
  // Type the query as a person would: focus the editor, select all, type over it.
  const editor = page.locator(QUERY_EDITOR).first();
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  // GraphiQL closes brackets as they are typed; the closing ones are typed over them.
  await page.keyboard.type(query);
  await page.keyboard.press('Escape'); // close the autocompletion list typing opened
  const editorText = await page.evaluate(editorValue, QUERY_EDITOR);
  // Prettify (GraphiQL's shortcut) so the screenshot shows a readable query.
  await page.keyboard.press('Shift+Control+P');
  return { editorText };
}

/** The Variables or Headers pane (`pane`), shown. */
async function editorTool(page, pane) {
  await page.locator('.graphiql-editor-tools button', { hasText: pane }).click();
  const editor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
  await editor.waitFor({ state: 'visible', timeout: WAIT_MS });
  return editor;
}

async function pasteIntoEditorTool(page, pane, text) {
  const editor = await editorTool(page, pane);
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  // Pasted, as one does with a token.
  await page.keyboard.insertText(text);
  // GraphiQL takes an edit into its tab state 100 ms later (debounced); its re-fetch button
  // sends the headers of the last render. A person is slower than that.
  await sleep(300);
  return editor.evaluate((node) => node.CodeMirror.getValue());
}

async function tabStep(page, title) {
  const tab = page.locator('.graphiql-session-header .graphiql-tab')
    .filter({ has: page.locator('.graphiql-tab-button', { hasText: new RegExp(`^${title}$`) }) });
  await tab.locator('.graphiql-tab-button').click({ timeout: WAIT_MS });
  await page.locator('.graphiql-tab-active .graphiql-tab-button', { hasText: new RegExp(`^${title}$`) })
    .waitFor({ timeout: WAIT_MS });
  await sleep(100);
  const variables = await editorTool(page, 'Variables');
  return {
    editorText: await page.evaluate(editorValue, QUERY_EDITOR),
    variablesText: await variables.evaluate((node) => node.CodeMirror.getValue()),
  };
}

async function runStep(page) {
  const before = await page.evaluate(editorValue, RESULT_EDITOR);
  const posted = page.waitForResponse(
    (r) => r.request().method() === 'POST' && operationNameOf(r.request()) !== 'IntrospectionQuery',
    { timeout: WAIT_MS },
  );
  await page.locator('.graphiql-execute-button').click();
  const answer = await posted;
  const requestHeaders = await answer.request().allHeaders();
  let body = null;
  try {
    body = await answer.json();
  } catch {
    body = null;
  }
  await page.waitForFunction(([selector, previous]) => {
    const cm = document.querySelector(selector);
    const value = cm && cm.CodeMirror.getValue();
    return value && value !== previous && /"(data|errors)"/.test(value);
  }, [RESULT_EDITOR, before], { timeout: WAIT_MS });
  return {
    editorText: await page.evaluate(editorValue, QUERY_EDITOR),
    request: {
      operationName: operationNameOf(answer.request()),
      query: JSON.parse(answer.request().postData() || '{}').query ?? null,
      authorization: requestHeaders.authorization ?? null,
    },
    status: answer.status(),
    contentType: answer.headers()['content-type'] ?? null,
    body,
    resultText: await page.evaluate(editorValue, RESULT_EDITOR),
    visibleResult: await page.locator('.result-window').innerText(),
  };
}

/** Click `button`, then wait for the schema request it starts and for GraphiQL to settle. */
async function introspectionStep(page, button, introspections) {
  const count = introspections.length;
  await button.click();
  await until(() => introspections.length > count && introspections.at(-1).done,
    'a schema request');
  // The page reacts to the answer (notice, Docs) after the response; give React its turn.
  await until(async () => !(await page.locator('.graphiql-sidebar .graphiql-spin').count()),
    'GraphiQL to finish fetching the schema');
  return { introspection: introspections.at(-1) };
}

/** Run the subscription in the editor; rename the product over HTTP until its event shows. */
async function liveStep(page, sockets, live) {
  const token = await signIn(live);
  await page.locator('.graphiql-execute-button').click();
  // GraphiQL's graphql-ws client connects lazily, on the first subscription.
  await until(() => sockets.some((s) => s.sent.some((frame) => frame.includes('"subscribe"'))),
    'GraphiQL to send its subscribe message');
  mark('subscribed');
  const mutations = [];
  for (let attempt = 1; attempt <= LIVE_ATTEMPTS; attempt += 1) {
    const name = `${live.name} #${attempt}`;
    const { status, body } = await graphql(
      `mutation Rename($input: UpdateProductInput!) {
        updateProduct(input: $input) { product { id name } errors { field code } }
      }`,
      { input: { id: live.productId, name } },
      token,
    );
    mutations.push({ name, status, body });
    const shown = await page
      .waitForFunction(
        ([selector, expected]) => {
          const cm = document.querySelector(selector);
          return cm && cm.CodeMirror.getValue().includes(expected);
        },
        [RESULT_EDITOR, name],
        { timeout: LIVE_WAIT_MS },
      )
      .then(() => true, () => false);
    if (shown) {
      mark(`event shown after attempt ${attempt}`);
      return { mutations, shownName: name, ...(await resultPane(page)) };
    }
  }
  return { mutations, shownName: null, ...(await resultPane(page)) };
}

async function resultPane(page) {
  return {
    resultText: await page.evaluate(editorValue, RESULT_EDITOR),
    visibleResult: await page.locator('.result-window').innerText(),
  };
}

function doStep(page, step, { introspections, sockets }) {
  switch (step.do) {
    case 'docs':
      return docsStep(page, step);
    case 'run':
      return runStep(page);
    case 'type':
      return typeQuery(page, step.query);
    case 'headers':
      return pasteIntoEditorTool(page, 'Headers', step.text).then((text) => ({ headersText: text }));
    case 'variables':
      return pasteIntoEditorTool(page, 'Variables', step.text)
        .then((text) => ({ variablesText: text }));
    case 'tab':
      return tabStep(page, step.title);
    case 'refetchSchema':
      return introspectionStep(
        page, page.locator('button[aria-label="Re-fetch GraphQL schema"]'), introspections,
      );
    case 'loadDocs':
      return introspectionStep(page, page.locator('#vitrine-load-docs'), introspections);
    case 'live':
      return liveStep(page, sockets, step);
    default:
      throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
}

await run(async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const requests = [];
    const failed = [];
    const errorResponses = [];
    const pageErrors = [];
    const consoleErrors = [];
    // GraphiQL's schema requests: who asked and what came back.
    const introspections = [];
    page.on('request', (request) => {
      requests.push({ method: request.method(), url: request.url() });
    });
    page.on('requestfailed', (request) => {
      failed.push({ url: request.url(), error: request.failure()?.errorText ?? null });
    });
    page.on('response', async (response) => {
      if (response.status() >= 400) {
        errorResponses.push({ url: response.url(), status: response.status() });
      }
      const request = response.request();
      if (request.method() !== 'POST' || operationNameOf(request) !== 'IntrospectionQuery') return;
      const entry = { status: response.status(), done: false };
      introspections.push(entry);
      entry.authorization = (await request.allHeaders()).authorization ?? null;
      try {
        const body = await response.json();
        entry.codes = (body.errors || []).map((e) => e.extensions?.code ?? null);
        entry.hasSchema = Boolean(body.data?.__schema);
      } catch (error) {
        entry.bodyError = String(error);
      }
      entry.done = true;
    });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    const sockets = [];
    page.on('websocket', (socket) => {
      const entry = { url: socket.url(), sent: [], received: [], closed: false };
      sockets.push(entry);
      socket.on('framesent', (frame) => entry.sent.push(String(frame.payload)));
      socket.on('framereceived', (frame) => entry.received.push(String(frame.payload)));
      socket.on('close', () => {
        entry.closed = true;
      });
    });
    page.on('console', (message) => {
      if (message.type() === 'error') {
        consoleErrors.push({ text: message.text(), url: message.location()?.url ?? null });
      }
    });

    const response = await page.goto(graphqlUrl() + FRAGMENT, { waitUntil: 'networkidle' });
    const pageStatus = response?.status() ?? null;
    await page.locator(QUERY_EDITOR).first().waitFor({ state: 'visible', timeout: WAIT_MS });
    // GraphiQL asks for the schema as it starts; wait for the answer and the page's reaction.
    await until(() => introspections.length > 0 && introspections[0].done, 'the schema request');
    await until(async () => !(await page.locator('.graphiql-sidebar .graphiql-spin').count()),
      'GraphiQL to finish fetching the schema');
    await sleep(100);
    mark('loaded');
    const opened = {
      editorText: await page.evaluate(editorValue, QUERY_EDITOR),
      defaultQuery: await page.evaluate(
        () => document.getElementById('vitrine-default-query')?.textContent ?? null,
      ),
      // The page's example tabs, as it carries them (script[data-vitrine-tab]).
      exampleTabs: await page.evaluate(() => [...document.querySelectorAll('script[data-vitrine-tab]')]
        .map((script) => {
          const variables = script.getAttribute('data-variables');
          return {
            id: script.id,
            query: script.textContent,
            variables: variables ? document.getElementById(variables)?.textContent ?? null : null,
          };
        })),
      ...(await pageState(page)),
    };

    // A step that fails ends the walk: its error is reported with what the page showed.
    const steps = [];
    for (const step of STEPS) {
      let observed;
      try {
        observed = await doStep(page, step, { introspections, sockets });
      } catch (error) {
        steps.push({ do: step.do, error: String(error?.message || error), ...(await pageState(page)) });
        mark(`${step.do} failed`);
        break;
      }
      steps.push({ do: step.do, ...observed, ...(await pageState(page)) });
      mark(step.do);
    }
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
    mark('screenshot');

    // Websockets included: the page's subscription socket must stay on localhost too.
    const external = [...requests, ...sockets].filter((r) => {
      const url = new URL(r.url);
      return !['data:', 'blob:', 'about:'].includes(url.protocol) && !LOCAL_HOSTS.has(url.hostname);
    });
    return {
      pageStatus,
      opened,
      steps,
      introspections,
      sockets,
      requests,
      external,
      failed,
      errorResponses,
      pageErrors,
      consoleErrors,
    };
  } finally {
    await browser.close();
  }
});
