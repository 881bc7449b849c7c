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
