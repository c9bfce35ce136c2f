// frame.html: one playground filling an iframe. Its state comes from the
// address's #vm1.… part (a permalink); the query sets the element's
// attributes: title (its accessible name and the page title), readonly,
// spoiler, views, step, predict.

import './playground.js';

const q = new URLSearchParams(location.search);
const title = q.get('title') || 'Virtual-memory playground';
document.title = `${title} — vmplay`;
const pg = document.createElement('vm-playground');
pg.setAttribute('label', title);
pg.setAttribute('permalink', '');
for (const a of ['readonly', 'spoiler', 'views', 'step', 'predict', 'frames']) if (q.has(a)) pg.setAttribute(a, q.get(a));
pg.addEventListener('vm-ready', () => (document.body.dataset.ready = '1'), { once: true });
document.body.append(pg);
