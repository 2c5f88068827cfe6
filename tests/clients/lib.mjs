// Shared by the client scripts: where the server is, and how results go back to pytest.
//
// Each script prints exactly one JSON line on stdout (its observations); pytest parses it and
// asserts in Python, so a failure shows what the client saw rather than a Node stack trace.

export function serverUrl() {
  const url = process.env.SERVER_URL;
  if (!url) {
    throw new Error('SERVER_URL is not set: these scripts are run by pytest against a live server');
  }
  return url.replace(/\/$/, '');
}

export function graphqlUrl() {
  return process.env.GRAPHQL_URL || `${serverUrl()}/graphql/`;
}

export function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Run `main`, print its result, and exit non-zero (with the stack) if it throws. */
export async function run(main) {
  try {
    report(await main());
  } catch (error) {
    process.stderr.write(`${error?.stack || error}\n`);
    process.exitCode = 1;
  }
}

/** The global fetch, recording the method, status and content type of every exchange. */
export function recordingFetch() {
  const exchanges = [];
  const fetchFn = async (input, init = {}) => {
    const response = await fetch(input, init);
    exchanges.push({
      method: init.method || 'GET',
      url: String(input),
      status: response.status,
      contentType: response.headers.get('content-type'),
    });
    return response;
  };
  return { fetchFn, exchanges };
}
