// Mission Control's live updates: polls the mission's live fragment with its ETag (an unchanged
// mission is a 304 with no body), swaps in the part of the page that changed, keeping what the
// reader opened and where the keyboard is, and fetches only the transcripts of runs the page does
// not hold yet. Without JavaScript the page is complete as served.
(() => {
  const live = document.getElementById('live');
  if (!live) return;
  const id = live.dataset.mission;
  const list = document.getElementById('transcripts');
  const status = document.getElementById('live-status');
  let etag = `"${live.dataset.version}"`;
  let delay = 2000;
  const parse = (html) => new DOMParser().parseFromString(html, 'text/html');
  // A <details> is known by the nearest element with an id around it and its place inside that one.
  const keyOf = (details) => {
    const owner = details.parentElement.closest('[id]');
    return `${owner.id}:${[...owner.querySelectorAll('details')].indexOf(details)}`;
  };

  function swap(fresh) {
    const open = new Set([...live.querySelectorAll('details[open]')].map(keyOf));
    const focused = live.contains(document.activeElement) ? document.activeElement.getAttribute('href') || document.activeElement.id : null;
    const before = document.getElementById('now')?.textContent;
    live.replaceChildren(...fresh.childNodes);
    live.dataset.version = fresh.dataset.version || '';
    for (const details of live.querySelectorAll('details')) if (open.has(keyOf(details))) details.open = true;
    if (focused) live.querySelector(`[href="${CSS.escape(focused)}"], #${CSS.escape(focused)}`)?.focus();
    const now = document.getElementById('now')?.textContent;
    if (status && now && now !== before) status.textContent = now;
  }

  async function poll() {
    // A hidden tab asks nothing; it catches up when shown.
    if (document.hidden) return void document.addEventListener('visibilitychange', poll, { once: true });
    try {
      const response = await fetch(`/missions/${id}/live`, { headers: { 'If-None-Match': etag }, redirect: 'manual', cache: 'no-cache' });
      if (response.status === 200) {
        etag = response.headers.get('ETag') || etag;
        const fresh = parse(await response.text()).getElementById('live');
        if (fresh) {
          swap(fresh);
          await addTranscripts((fresh.dataset.ended || '').split(',').filter(Boolean));
          if (fresh.dataset.running !== 'true') return; // over: nothing more will change
        }
        delay = 2000;
      } else if (response.status === 304) {
        delay = Math.min(delay + 1000, 10000); // quiet: ask a little less often
      } else if (response.status >= 500) {
        delay = Math.min(delay * 2, 30000); // the server is in trouble: try again, less often
      } else {
        return; // signed out, or the mission went away: the next reload says why
      }
    } catch {
      delay = Math.min(delay * 2, 30000); // the server is away: try again, less often
    }
    setTimeout(poll, delay);
  }

  async function addTranscripts(ended) {
    for (const run of ended) {
      if (document.getElementById(`run-${run}`)) continue;
      const response = await fetch(`/missions/${id}/runs/${run}`, { redirect: 'manual' });
      if (response.status !== 200) continue;
      const article = parse(await response.text()).querySelector('article.run');
      if (article) list.append(document.importNode(article, true));
    }
  }

  if (live.dataset.running === 'true') setTimeout(poll, delay);
})();
