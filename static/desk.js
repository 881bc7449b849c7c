// Progressive enhancement for the call screen: a running call timer. The form works without it
// (the server measures the call from the hidden start time).
(function () {
  const el = document.getElementById('call-elapsed');
  if (!el) return;
  const started = Number(el.dataset.started) * 1000;
  const tick = () => {
    const s = Math.max(0, Math.floor((Date.now() - started) / 1000));
    el.textContent = '(' + String(Math.floor(s / 60)).padStart(2, '0') + ':' + String(s % 60).padStart(2, '0') + ')';
  };
  tick();
  setInterval(tick, 1000);
})();

// Keyboard-first call form: Enter in a one-line field moves to the next field (the form itself
// never submits on Enter: its default button is disabled); Ctrl+Enter saves from anywhere.
(function () {
  const form = document.getElementById('call-form');
  if (!form) return;
  const save = document.getElementById('save-call');
  form.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.isComposing) return;
    if (event.ctrlKey || event.metaKey) {
      event.preventDefault();
      form.requestSubmit(save);
      return;
    }
    const target = event.target;
    if (target.tagName !== 'INPUT' || target.type === 'radio' || target.type === 'checkbox') return;
    event.preventDefault();
    const fields = Array.from(form.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
      .filter((el) => !el.disabled && !el.hidden);
    const next = fields[fields.indexOf(target) + 1];
    if (next) next.focus();
  });
})();
