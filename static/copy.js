// Progressive enhancement for pages that show a token once: a copy button beside the token.
// Without JavaScript the button stays hidden and the token is selectable text (user-select: all).
(function () {
  const copy = async (text) => {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    // Plain http on a LAN address: the old way, through a selection.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'visually-hidden';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) throw new Error('copy refused');
  };
  for (const button of document.querySelectorAll('button[data-copy]')) {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.status);
    if (!source) continue;
    button.hidden = false;
    button.addEventListener('click', async () => {
      try {
        await copy(source.textContent.trim());
        if (status) status.textContent = button.dataset.copied;
      } catch (e) {
        if (status) status.textContent = button.dataset.failed;
      }
    });
  }
})();
