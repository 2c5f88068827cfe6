// Headless Chromium (Debian's, driven by playwright-core) opens GraphiQL on the live server,
// types QUERY into the editor, runs it and reads the result pane. Prints what the page
// requested (and whether anything failed or left localhost), the editor and result texts,
// the page's websocket frames, and saves a screenshot to SCREENSHOT.
//
// With LIVE set (JSON: {productId, username, password, name}), QUERY is a subscription:
// GraphiQL runs it over its websocket (graphql-ws), and this script, as another client, signs
// in with tokenAuth and renames the product with updateProduct over HTTP until the event shows
// in the result pane (the first rename may race the subscription's registration). Each
// attempt renames to `${name} #n`; `live` in the output tells which ones were sent.
import { chromium } from 'playwright-core';

import { graphqlUrl, run } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SCREENSHOT = process.env.SCREENSHOT;
const QUERY = process.env.QUERY || '{ products(first: 2) { totalCount edges { node { name } } } }';
const LIVE = process.env.LIVE ? JSON.parse(process.env.LIVE) : null;
const LIVE_ATTEMPTS = 5;
const LIVE_WAIT_MS = 2_000;
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

const resultText = () => {
  const cm = document.querySelector('.result-window .CodeMirror');
  return cm ? cm.CodeMirror.getValue() : '';
};

/** Run the subscription in the editor; rename the product over HTTP until its event shows. */
async function runLive(page, sockets) {
  const token = await signIn(LIVE);
  await page.locator('.graphiql-execute-button').click();
  // GraphiQL's graphql-ws client connects lazily, on the first subscription.
  const started = Date.now();
  while (!sockets.some((s) => s.sent.some((frame) => frame.includes('"subscribe"')))) {
    if (Date.now() - started > 15_000) throw new Error('GraphiQL sent no subscribe message');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  mark('subscribed');
  const mutations = [];
  for (let attempt = 1; attempt <= LIVE_ATTEMPTS; attempt += 1) {
    const name = `${LIVE.name} #${attempt}`;
    const { status, body } = await graphql(
      `mutation Rename($input: UpdateProductInput!) {
        updateProduct(input: $input) { product { id name } errors { field code } }
      }`,
      { input: { id: LIVE.productId, name } },
      token,
    );
    mutations.push({ name, status, body });
    const shown = await page
      .waitForFunction(
        (expected) => {
          const cm = document.querySelector('.result-window .CodeMirror');
          return cm && cm.CodeMirror.getValue().includes(expected);
        },
        name,
        { timeout: LIVE_WAIT_MS },
      )
      .then(() => true, () => false);
    if (shown) {
      mark(`event shown after attempt ${attempt}`);
      return { mutations, shownName: name };
    }
  }
  return { mutations, shownName: null };
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
    page.on('request', (request) => {
      requests.push({ method: request.method(), url: request.url() });
    });
    page.on('requestfailed', (request) => {
      failed.push({ url: request.url(), error: request.failure()?.errorText ?? null });
    });
    page.on('response', (response) => {
      if (response.status() >= 400) {
        errorResponses.push({ url: response.url(), status: response.status() });
      }
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

    const response = await page.goto(graphqlUrl(), { waitUntil: 'networkidle' });
    const pageStatus = response?.status() ?? null;
    mark('loaded');

    // Type the query as a person would: focus the editor, select all, type over it.
    const editor = page.locator('.graphiql-query-editor .CodeMirror').first();
    await editor.waitFor({ state: 'visible', timeout: 15_000 });
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    // GraphiQL closes brackets as they are typed; the closing ones are typed over them.
    await page.keyboard.type(QUERY);
    mark('typed');
    const editorText = await page.evaluate(
      () => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue(),
    );

    // Prettify (GraphiQL's shortcut) so the screenshot shows a readable query.
    await page.keyboard.press('Shift+Control+P');

    let execution = null;
    let live = null;
    if (LIVE) {
      live = await runLive(page, sockets);
    } else {
      const posted = page.waitForResponse(
        (r) => r.request().method() === 'POST' && (r.request().postData() || '').includes('products'),
        { timeout: 15_000 },
      );
      await page.locator('.graphiql-execute-button').click();
      const answer = await posted;
      execution = {
        status: answer.status(),
        contentType: answer.headers()['content-type'] ?? null,
        requestHeaders: answer.request().headers(),
      };
      await page.waitForFunction(() => {
        const cm = document.querySelector('.result-window .CodeMirror');
        return cm && cm.CodeMirror.getValue().includes('"data"');
      }, null, { timeout: 15_000 });
    }
    mark('result');
    const resultPaneText = await page.evaluate(resultText);
    const visibleResult = await page.locator('.result-window').innerText();
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
    mark('screenshot');

    // Websockets included: the page's subscription socket must stay on localhost too.
    const external = [...requests, ...sockets].filter((r) => {
      const url = new URL(r.url);
      return !['data:', 'blob:', 'about:'].includes(url.protocol) && !LOCAL_HOSTS.has(url.hostname);
    });
    return {
      pageStatus,
      editorText,
      execution,
      live,
      sockets,
      resultText: resultPaneText,
      visibleResult,
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
