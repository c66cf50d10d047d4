// Mission Control's live updates: polls the mission's live fragment with its ETag (an unchanged
// mission is a 304 with no body), swaps in the part of the page that changed, and fetches only the
// transcripts of runs the page does not hold yet. Without JavaScript the page is complete as served.
(() => {
  const live = document.getElementById('live');
  if (!live) return;
  const id = live.dataset.mission;
  const list = document.getElementById('transcripts');
  let etag = `"${live.dataset.version}"`;
  let delay = 2000;
  const parse = (html) => new DOMParser().parseFromString(html, 'text/html');

  async function poll() {
    try {
      const response = await fetch(`/missions/${id}/live`, { headers: { 'If-None-Match': etag }, redirect: 'manual', cache: 'no-cache' });
      if (response.status === 200) {
        etag = response.headers.get('ETag') || etag;
        const fresh = parse(await response.text()).getElementById('live');
        if (fresh) {
          live.replaceChildren(...fresh.childNodes);
          live.dataset.version = fresh.dataset.version || '';
          await addTranscripts((fresh.dataset.ended || '').split(',').filter(Boolean));
          if (fresh.dataset.running !== 'true') return; // over: nothing more will change
        }
      } else if (response.status !== 304) {
        return; // signed out, or the mission went away: the next reload says why
      }
      delay = 2000;
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
