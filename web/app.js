// The index page: the playground element plus the page's own bits (the
// version in the header, and body[data-ready] once the wasm is running).

import './playground.js';
import { loadVm } from './vm.js';

const vm = await loadVm();
document.getElementById('vm-version').textContent = vm.version();

const pg = document.getElementById('playground');
const ready = () => {
  document.body.dataset.ready = '1';
};
if (pg.dataset.ready === '1') ready();
else {
  pg.addEventListener('vm-ready', ready, { once: true });
  pg.addEventListener('vm-error', () => (document.body.dataset.ready = 'error'), { once: true });
}
