// The index page: the playground element plus the page's own bits (the
// version in the header, the kernel control, and body[data-ready] once the
// wasm is running).

import './playground.js';
import { loadVm } from './vm.js';

const vm = await loadVm();
document.getElementById('vm-version').textContent = vm.version();

const pg = document.getElementById('playground');

// The kernel control sets the element's personality; a scenario's own
// personality line wins, and the control then shows it and waits.
const pick = document.getElementById('kernel');
const note = document.getElementById('kernel-note');
pick.addEventListener('change', () => pg.setAttribute('personality', pick.value));
// "Compare kernels" takes the scenario along (compare.html#playground reads it).
const handOff = () => {
  try {
    if (pg.sessionObject) sessionStorage.setItem('vmplay:compare', pg.sessionObject.text);
  } catch {
    // no session storage (a private window may refuse): the page opens with its example
  }
};
const link = document.getElementById('compare-link');
link.addEventListener('click', handOff);
link.addEventListener('auxclick', handOff);
pg.addEventListener('vm-kernel', (ev) => {
  const fromText = ev.detail.from === 'scenario';
  pick.value = fromText ? ev.detail.kernel : pg.getAttribute('personality') || 'linux';
  pick.disabled = fromText;
  note.hidden = !fromText;
});
const ready = () => {
  document.body.dataset.ready = '1';
};
if (pg.dataset.ready === '1') ready();
else {
  pg.addEventListener('vm-ready', ready, { once: true });
  pg.addEventListener('vm-error', () => (document.body.dataset.ready = 'error'), { once: true });
}
