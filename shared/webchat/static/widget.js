/* Switchboard web chat widget: one script tag, no framework.
 *   <script src="https://…/chat/widget.js" data-site="demo" async></script>
 * A site that knows its user sets, before the tag,
 *   window.switchboardChat = {identifier, identifierHash, name, email}
 * (identifierHash: hex HMAC-SHA256 of identifier, computed on its server).
 * Customer and agent text is only ever set as text, never as HTML. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__switchboardChatLoaded) return;
  window.__switchboardChatLoaded = true;
  var site = script.getAttribute('data-site') || 'demo';
  var base = new URL(script.src, location.href).origin;
  var settings = window.switchboardChat || {};
  var storeKey = 'switchboard-chat:' + site;

  var T = {
    en: {open: 'Chat with us', close: 'Close chat', label: 'Your message', send: 'Send', log: 'Conversation',
      sending: 'Sending…', sent: 'Sent', failed: 'Not sent. Select to retry.', connecting: 'Connecting…',
      online: 'Connected', offline: 'Reconnecting…', slow: 'Slow down a little: sending again shortly.',
      email: 'Your email, so we can answer if you leave', emailOptional: 'Your email (optional), so we can answer if you leave',
      start: 'Start chat', skip: 'Skip', unverified: 'We could not confirm your account: chatting as a guest.',
      typing: 'An agent is typing…', you: 'You', agent: 'Support', tooLong: 'That message is too long.', closed: 'This conversation was closed. Write again any time.', attach: 'Attach a file', uploadFailed: 'Could not upload that file.'},
    es: {open: 'Chatea con nosotros', close: 'Cerrar chat', label: 'Tu mensaje', send: 'Enviar', log: 'Conversación',
      sending: 'Enviando…', sent: 'Enviado', failed: 'No enviado. Selecciona para reintentar.', connecting: 'Conectando…',
      online: 'Conectado', offline: 'Reconectando…', slow: 'Más despacio: se reenviará en breve.',
      email: 'Tu correo, para responderte si te vas', emailOptional: 'Tu correo (opcional), para responderte si te vas',
      start: 'Empezar', skip: 'Omitir', unverified: 'No pudimos confirmar tu cuenta: chateas como invitado.',
      typing: 'Un agente está escribiendo…', you: 'Tú', agent: 'Soporte', tooLong: 'El mensaje es demasiado largo.', closed: 'Esta conversación se cerró. Escríbenos cuando quieras.', attach: 'Adjuntar un archivo', uploadFailed: 'No se pudo subir el archivo.'},
    fr: {open: 'Discuter avec nous', close: 'Fermer la discussion', label: 'Votre message', send: 'Envoyer', log: 'Conversation',
      sending: 'Envoi…', sent: 'Envoyé', failed: 'Non envoyé. Sélectionnez pour réessayer.', connecting: 'Connexion…',
      online: 'Connecté', offline: 'Reconnexion…', slow: 'Doucement : nouvel envoi dans un instant.',
      email: 'Votre e-mail, pour vous répondre si vous partez', emailOptional: 'Votre e-mail (facultatif), pour vous répondre si vous partez',
      start: 'Commencer', skip: 'Passer', unverified: 'Compte non confirmé : vous discutez en invité.',
      typing: 'Un agent écrit…', you: 'Vous', agent: 'Support', tooLong: 'Ce message est trop long.', closed: 'Cette conversation est close. Écrivez-nous quand vous voulez.', attach: 'Joindre un fichier', uploadFailed: 'Impossible d\'envoyer ce fichier.'},
    de: {open: 'Chatten Sie mit uns', close: 'Chat schließen', label: 'Ihre Nachricht', send: 'Senden', log: 'Unterhaltung',
      sending: 'Wird gesendet…', sent: 'Gesendet', failed: 'Nicht gesendet. Zum Wiederholen auswählen.', connecting: 'Verbinde…',
      online: 'Verbunden', offline: 'Verbindung wird wiederhergestellt…', slow: 'Etwas langsamer: gleich erneut.',
      email: 'Ihre E-Mail, damit wir antworten können', emailOptional: 'Ihre E-Mail (optional), damit wir antworten können',
      start: 'Chat starten', skip: 'Überspringen', unverified: 'Konto nicht bestätigt: Sie chatten als Gast.',
      typing: 'Ein Mitarbeiter schreibt…', you: 'Sie', agent: 'Support', tooLong: 'Die Nachricht ist zu lang.', closed: 'Diese Unterhaltung wurde geschlossen. Schreiben Sie jederzeit wieder.', attach: 'Datei anhängen', uploadFailed: 'Die Datei konnte nicht hochgeladen werden.'},
    pt: {open: 'Fale conosco', close: 'Fechar chat', label: 'Sua mensagem', send: 'Enviar', log: 'Conversa',
      sending: 'Enviando…', sent: 'Enviada', failed: 'Não enviada. Selecione para tentar de novo.', connecting: 'Conectando…',
      online: 'Conectado', offline: 'Reconectando…', slow: 'Mais devagar: reenviando em instantes.',
      email: 'Seu e-mail, para responder se você sair', emailOptional: 'Seu e-mail (opcional), para responder se você sair',
      start: 'Começar', skip: 'Pular', unverified: 'Não confirmamos sua conta: você conversa como convidado.',
      typing: 'Um atendente está digitando…', you: 'Você', agent: 'Suporte', tooLong: 'A mensagem é longa demais.', closed: 'Esta conversa foi encerrada. Escreva quando quiser.', attach: 'Anexar um arquivo', uploadFailed: 'Não foi possível enviar o arquivo.'},
    ja: {open: 'チャットで問い合わせ', close: 'チャットを閉じる', label: 'メッセージ', send: '送信', log: '会話',
      sending: '送信中…', sent: '送信済み', failed: '未送信。選択すると再送します。', connecting: '接続中…',
      online: '接続済み', offline: '再接続中…', slow: '少しお待ちください。まもなく再送します。',
      email: 'メールアドレス(退席時の返信用)', emailOptional: 'メールアドレス(任意・退席時の返信用)',
      start: '開始', skip: 'スキップ', unverified: 'アカウントを確認できませんでした。ゲストとしてチャットします。',
      typing: '担当者が入力中…', you: 'あなた', agent: 'サポート', tooLong: 'メッセージが長すぎます。', closed: 'この会話は終了しました。いつでもまたどうぞ。', attach: 'ファイルを添付', uploadFailed: 'ファイルをアップロードできませんでした。'}
  };
  var t = T.en;

  // The token and the email persist; the cursor is this page's own (a
  // page load reads the whole history, a reconnect only what it missed).
  var state = load();
  state.cursor = '';
  var cfg = null, ws = null, delay = 1000, pingTimer = 0, capTimer = 0, typingTimer = 0;
  var seen = {}, pending = {};

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(storeKey, JSON.stringify({token: state.token, email: state.email})); } catch (e) { /* private mode */ }
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function id() {
    var a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }
  function api(method, path, body) {
    var h = {'Content-Type': 'application/json'};
    if (state.token) h.Authorization = 'Bearer ' + state.token;
    return fetch(base + path, {method: method, headers: h, body: body ? JSON.stringify(body) : undefined})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) { return {status: r.status, body: j, retry: r.headers.get('Retry-After')}; });
      });
  }

  // The UI.
  var css = '#sbchat-launcher{position:fixed;right:16px;bottom:16px;z-index:2147483000;padding:12px 18px;border-radius:24px;border:0;background:#1f5fbf;color:#fff;font:600 15px system-ui,sans-serif;cursor:pointer}' +
    '#sbchat-launcher:focus-visible,#sbchat-panel :focus-visible{outline:3px solid #f5a623;outline-offset:2px}' +
    '#sbchat-panel{position:fixed;right:16px;bottom:72px;z-index:2147483000;width:360px;max-width:calc(100vw - 32px);height:520px;max-height:calc(100vh - 96px);display:flex;flex-direction:column;background:#fff;color:#1b1b1b;border-radius:12px;box-shadow:0 6px 28px rgba(0,0,0,.25);font:14px/1.4 system-ui,sans-serif}' +
    '#sbchat-panel[hidden]{display:none}#sbchat-panel header{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;background:#1f5fbf;color:#fff;border-radius:12px 12px 0 0}' +
    '#sbchat-panel h2{margin:0;font-size:16px}#sbchat-panel header button{background:none;border:0;color:#fff;font-size:22px;cursor:pointer;line-height:1}' +
    '#sbchat-status{margin:0;padding:4px 14px;font-size:12px;color:#555;min-height:1.4em}#sbchat-log{flex:1;overflow-y:auto;margin:0;padding:8px 14px;list-style:none}' +
    '.sbchat-msg{margin:6px 0;max-width:85%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}.sbchat-inbound{margin-left:auto;background:#e3edfb}.sbchat-outbound{background:#f1f1f1}' +
    '.sbchat-meta{display:block;font-size:11px;color:#555;margin-top:2px}.sbchat-failed{cursor:pointer;color:#a00}' +
    '#sbchat-form,#sbchat-email{display:flex;gap:6px;padding:10px;border-top:1px solid #ddd;flex-wrap:wrap}#sbchat-email label{flex-basis:100%;font-size:13px}' +
    '#sbchat-input{flex:1;resize:none;min-height:40px;font:inherit;padding:6px}#sbchat-panel input{flex:1;font:inherit;padding:6px}' +
    '#sbchat-panel form button{padding:8px 14px;border:0;border-radius:6px;background:#1f5fbf;color:#fff;font:inherit;cursor:pointer}' +
    '.sbchat-attach{align-self:center;cursor:pointer;padding:0 4px;line-height:0}#sbchat-file:focus-visible+.sbchat-attach{outline:3px solid #f5a623}.sbchat-media img{max-width:100%;border-radius:6px;display:block;margin-top:4px}' +
    '.sbchat-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}@media (max-width:480px){#sbchat-panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100vh;max-height:100vh;border-radius:0}}';
  var launcher, panel, status, log, form, input, emailForm, typing, file;

  function build() {
    document.head.appendChild(el('style', {}, css));
    launcher = el('button', {id: 'sbchat-launcher', type: 'button', 'aria-controls': 'sbchat-panel', 'aria-expanded': 'false'}, t.open);
    panel = el('section', {id: 'sbchat-panel', role: 'dialog', 'aria-labelledby': 'sbchat-title', hidden: ''});
    var header = el('header');
    header.appendChild(el('h2', {id: 'sbchat-title'}, cfg.name));
    var close = el('button', {type: 'button', 'aria-label': t.close}, '×');
    header.appendChild(close);
    status = el('p', {id: 'sbchat-status', role: 'status'}, '');
    log = el('ol', {id: 'sbchat-log', role: 'log', 'aria-live': 'polite', 'aria-label': t.log});
    typing = el('p', {id: 'sbchat-typing', 'aria-live': 'polite', class: 'sbchat-meta'}, '');
    form = el('form', {id: 'sbchat-form'});
    form.appendChild(el('label', {for: 'sbchat-input', class: 'sbchat-sr'}, t.label));
    input = el('textarea', {id: 'sbchat-input', rows: '2', maxlength: '4000'});
    form.appendChild(input);
    file = el('input', {id: 'sbchat-file', type: 'file', class: 'sbchat-sr', accept: 'image/jpeg,image/png,image/gif,application/pdf,text/plain'});
    var attach = el('label', {for: 'sbchat-file', id: 'sbchat-attach', class: 'sbchat-attach', title: t.attach});
    attach.appendChild(clip());
    attach.appendChild(el('span', {class: 'sbchat-sr'}, t.attach));
    form.appendChild(file);
    form.appendChild(attach);
    form.appendChild(el('button', {id: 'sbchat-send', type: 'submit'}, t.send));
    file.addEventListener('change', function () { if (file.files[0]) sendFile(file.files[0]); file.value = ''; });
    panel.appendChild(header); panel.appendChild(status); panel.appendChild(log); panel.appendChild(typing);
    if (cfg.preChatEmail !== 'off' && !state.token && !settings.email) {
      emailForm = el('form', {id: 'sbchat-email'});
      emailForm.appendChild(el('label', {for: 'sbchat-email-input'}, cfg.preChatEmail === 'required' ? t.email : t.emailOptional));
      var ei = el('input', {id: 'sbchat-email-input', type: 'email', autocomplete: 'email'});
      if (cfg.preChatEmail === 'required') ei.required = true;
      emailForm.appendChild(ei);
      emailForm.appendChild(el('button', {type: 'submit'}, t.start));
      if (cfg.preChatEmail !== 'required') {
        var skip = el('button', {type: 'button', id: 'sbchat-skip'}, t.skip);
        skip.addEventListener('click', function () { startChat(''); });
        emailForm.appendChild(skip);
      }
      emailForm.addEventListener('submit', function (e) { e.preventDefault(); startChat(ei.value.trim()); });
      panel.appendChild(emailForm);
      form.hidden = true;
    }
    panel.appendChild(form);
    document.body.appendChild(launcher);
    document.body.appendChild(panel);
    launcher.addEventListener('click', function () { toggle(panel.hidden); });
    close.addEventListener('click', function () { toggle(false); launcher.focus(); });
    panel.addEventListener('keydown', function (e) { if (e.key === 'Escape') { toggle(false); launcher.focus(); } });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : submit(e); }
    });
    form.addEventListener('submit', submit);
  }

  // A paperclip icon (SVG: no emoji font needed).
  function clip() {
    var ns = 'http://www.w3.org/2000/svg', svg = document.createElementNS(ns, 'svg'), p = document.createElementNS(ns, 'path');
    svg.setAttribute('viewBox', '0 0 24 24'); svg.setAttribute('width', '22'); svg.setAttribute('height', '22'); svg.setAttribute('aria-hidden', 'true');
    p.setAttribute('d', 'M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z');
    p.setAttribute('fill', '#1f5fbf');
    svg.appendChild(p);
    return svg;
  }

  function toggle(open) {
    panel.hidden = !open;
    launcher.setAttribute('aria-expanded', String(open));
    if (open) {
      if (state.token || !emailForm) start();
      (emailForm ? emailForm.querySelector('input') : input).focus();
    }
  }

  function startChat(email) {
    state.email = email;
    emailForm.remove();
    emailForm = null;
    form.hidden = false;
    input.focus();
    start();
  }

  var started = null;
  function start() {
    if (!started) started = session().then(function () { return sync(); }).then(connect);
    return started;
  }

  function session() {
    var body = {site: site};
    ['identifier', 'identifierHash', 'name', 'email'].forEach(function (k) { if (settings[k]) body[k] = settings[k]; });
    if (!body.email && state.email) body.email = state.email;
    return api('POST', '/chat/sessions', body).then(function (r) {
      if (r.status !== 200) { status.textContent = r.body.error || t.offline; throw new Error(r.body.code); }
      state.token = r.body.token;
      if (r.body.notice === 'identity_not_verified') status.textContent = t.unverified;
      save();
    });
  }

  function render(v) {
    if (seen[v.id]) return;
    var li = v.clientMessageId && pending[v.clientMessageId];
    if (!li) {
      li = el('li', {class: 'sbchat-msg sbchat-' + v.direction});
      li.appendChild(el('span', {class: 'sbchat-sr'}, (v.direction === 'inbound' ? t.you : t.agent) + ': '));
      li.appendChild(el('span', {class: 'sbchat-body'}, v.body));
      li.appendChild(el('small', {class: 'sbchat-meta'}, ''));
      log.appendChild(li);
    }
    if (v.media && v.media.length && !li.querySelector('.sbchat-media')) {
      var box = el('span', {class: 'sbchat-media'});
      v.media.forEach(function (m) {
        if (!/^https?:\/\//.test(m.url)) return;
        if (/^image\//.test(m.contentType)) {
          var img = el('img', {src: m.url, alt: m.filename || m.contentType});
          img.addEventListener('load', function () { log.scrollTop = log.scrollHeight; });
          box.appendChild(img);
        }
        else box.appendChild(el('a', {href: m.url, target: '_blank', rel: 'noopener noreferrer'}, m.filename || m.contentType));
      });
      li.insertBefore(box, li.querySelector('.sbchat-meta'));
    }
    delete pending[v.clientMessageId];
    seen[v.id] = true;
    li.setAttribute('data-id', v.id);
    li.setAttribute('data-status', 'sent');
    li.querySelector('.sbchat-meta').textContent = new Date(v.createdAt).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'}) +
      (v.direction === 'inbound' ? ' · ' + t.sent : '');
    advance(v.cursor);
    log.scrollTop = log.scrollHeight;
  }

  function advance(c) {
    if (!c) return;
    var conv = c.split('.')[0];
    if (!state.cursor || state.cursor.split('.')[0] !== conv || c > state.cursor) { state.cursor = c; save(); }
  }

  function sync() {
    return api('GET', '/chat/messages?after=' + encodeURIComponent(state.cursor || '')).then(function (r) {
      if (r.status === 401) { state.token = null; return session().then(sync); }
      if (r.status !== 200) return;
      (r.body.messages || []).forEach(render);
      advance(r.body.next);
    });
  }

  function connect() {
    clearInterval(pingTimer); clearTimeout(capTimer);
    status.textContent = status.textContent === t.unverified ? t.unverified : t.connecting;
    ws = new WebSocket(cfg.socketUrl + '?token=' + encodeURIComponent(state.token));
    var sock = ws;
    sock.onopen = function () {
      delay = 1000;
      if (status.textContent !== t.unverified) status.textContent = t.online;
      panel.setAttribute('data-connected', 'true');
      sync();
      // API Gateway closes a socket idle for 10 minutes and any after 2 hours.
      pingTimer = setInterval(function () { if (sock.readyState === 1) sock.send('{"type":"ping"}'); }, 5 * 60 * 1000);
      capTimer = setTimeout(function () { sock.close(1000, 'renew'); }, 110 * 60 * 1000);
    };
    sock.onmessage = function (e) {
      var f; try { f = JSON.parse(e.data); } catch (x) { return; }
      if (f.type === 'message.created' && f.data) render(f.data);
      if (f.type === 'status' && f.data) {
        var closed = f.data.status === 'closed';
        panel.setAttribute('data-conversation', f.data.status);
        typing.textContent = closed ? t.closed : '';
      }
      if (f.type === 'typing') {
        typing.textContent = f.data && f.data.on === false ? '' : t.typing;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.textContent = ''; }, 30000);
      }
    };
    sock.onclose = function () {
      if (ws !== sock) return;
      clearInterval(pingTimer); clearTimeout(capTimer);
      panel.setAttribute('data-connected', 'false');
      status.textContent = t.offline;
      setTimeout(function () { sync().catch(function () {}).then(connect); }, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  function submit(e) {
    if (e) e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    if (text.length > 4000) { status.textContent = t.tooLong; return; }
    input.value = '';
    var cid = id();
    var li = el('li', {class: 'sbchat-msg sbchat-inbound', 'data-client-id': cid, 'data-status': 'sending'});
    li.appendChild(el('span', {class: 'sbchat-sr'}, t.you + ': '));
    li.appendChild(el('span', {class: 'sbchat-body'}, text));
    li.appendChild(el('small', {class: 'sbchat-meta'}, t.sending));
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    pending[cid] = li;
    start().then(function () { deliver(text, cid, li, 0); });
  }

  // An attachment goes to the media bucket by its presigned PUT, never
  // through the socket; the message names it (key and proof).
  function sendFile(f) {
    var cid = id();
    var li = el('li', {class: 'sbchat-msg sbchat-inbound', 'data-client-id': cid, 'data-status': 'sending'});
    li.appendChild(el('span', {class: 'sbchat-sr'}, t.you + ': '));
    li.appendChild(el('span', {class: 'sbchat-body'}, f.name));
    li.appendChild(el('small', {class: 'sbchat-meta'}, t.sending));
    log.appendChild(li);
    pending[cid] = li;
    start().then(function () {
      return api('POST', '/chat/uploads', {contentType: f.type || 'application/octet-stream', size: f.size, filename: f.name});
    }).then(function (r) {
      if (r.status !== 201) throw new Error(r.body.error || t.uploadFailed);
      var up = r.body.upload, h = {};
      for (var k in up.headers) if (k.toLowerCase() !== 'content-length') h[k] = up.headers[k];
      return fetch(up.url, {method: up.method, headers: h, body: f}).then(function (p) {
        if (!p.ok) throw new Error(t.uploadFailed);
        li.querySelector('.sbchat-body').textContent = '';
        deliver('', cid, li, 0, [{key: up.key, ref: r.body.ref}]);
      });
    }).catch(function (e) { li.setAttribute('data-status', 'failed'); li.querySelector('.sbchat-meta').textContent = e.message || t.uploadFailed; });
  }

  function deliver(text, cid, li, attempt, media) {
    var body = {body: text, clientMessageId: cid};
    if (media) body.media = media;
    api('POST', '/chat/messages', body).then(function (r) {
      if (r.status === 200 || r.status === 201) return render(r.body.message);
      if (r.status === 401 && attempt < 1) return session().then(function () { deliver(text, cid, li, attempt + 1, media); });
      if (r.status === 429 || r.status >= 500) {
        if (r.status === 429) status.textContent = t.slow;
        if (attempt < 6) return setTimeout(function () { deliver(text, cid, li, attempt + 1, media); }, (Number(r.retry) || Math.pow(2, attempt)) * 1000);
      }
      failed(text, cid, li, r.body.error, media);
    }, function () {
      if (attempt < 6) return setTimeout(function () { deliver(text, cid, li, attempt + 1, media); }, Math.pow(2, attempt) * 1000);
      failed(text, cid, li, null, media);
    });
  }

  function failed(text, cid, li, why, media) {
    li.setAttribute('data-status', 'failed');
    var meta = li.querySelector('.sbchat-meta');
    meta.textContent = why ? why : t.failed;
    meta.className = 'sbchat-meta sbchat-failed';
    meta.setAttribute('role', 'button');
    meta.setAttribute('tabindex', '0');
    var retry = function () { meta.className = 'sbchat-meta'; meta.textContent = t.sending; meta.removeAttribute('role'); deliver(text, cid, li, 0, media); };
    meta.onclick = retry;
    meta.onkeydown = function (e) { if (e.key === 'Enter' || e.key === ' ') retry(); };
  }

  fetch(base + '/chat/config?site=' + encodeURIComponent(site)).then(function (r) { return r.json(); }).then(function (c) {
    cfg = c;
    var lang = (c.locale || navigator.language || 'en').slice(0, 2).toLowerCase();
    t = T[lang] || T.en;
    var go = function () {
      build();
      window.switchboardChatWidget = {open: function () { toggle(true); }, state: state};
      if (state.token) start(); // a returning visitor: resume at once
    };
    if (document.body) go(); else document.addEventListener('DOMContentLoaded', go);
  });
})();
