// Switchboard agent console: one page over the public API (/api/*).
// Customer text is only ever set as textContent; nothing from the API is
// parsed as HTML. The URL holds ids only (#/conversations/{id}).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const CHANNELS = {
    sms: 'SMS', whatsapp: 'WhatsApp', email: 'Email', voice: 'Call', messenger: 'Messenger', instagram: 'Instagram',
    telegram: 'Telegram', line: 'LINE', x: 'X', wechat: 'WeChat', webchat: 'Web chat', phone: 'Phone',
  };
  const EVENTS = {
    closed: 'closed the conversation', reopened: 'reopened the conversation', snoozed: 'snoozed the conversation',
    woke: 'woke the conversation', assigned: 'assigned', unassigned: 'unassigned the conversation', team_changed: 'moved it to team',
    labelled: 'labelled', priority_changed: 'set the priority', merged: '',
  };
  let cfg = { auth: 'token', pollMillis: 3000 };
  const state = {
    filters: { status: 'open', assignee: '', channel: '', team: '', label: '' },
    list: [], next: '', listTag: '', current: '', conv: null, convTag: '', messages: [], older: '',
    contacts: new Map(), templates: null, replyKey: '', replyFor: '', noteKey: '', busy: false,
  };

  // ---- small helpers --------------------------------------------------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids) if (k) e.append(k);
    return e;
  }
  function channelBadge(ch) {
    return el('span', { class: 'ch ch-' + ch, text: CHANNELS[ch] || ch, title: CHANNELS[ch] || ch });
  }
  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
      : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }
  function duration(s) {
    if (!s) return '';
    const m = Math.floor(s / 60);
    return m ? `${m} min ${s % 60} s` : `${s} s`;
  }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }
  let toastTimer = 0;
  function toast(text, error) {
    const t = $('toast');
    t.textContent = text;
    t.className = 'show' + (error ? ' error' : '');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.className = ''; }, 4000);
  }
  // safeURL keeps http(s) links only (a presigned URL, this origin's).
  function safeURL(u) {
    try {
      const p = new URL(u, location.href);
      return p.protocol === 'https:' || p.protocol === 'http:' ? p.href : '';
    } catch (_) { return ''; }
  }

  // ---- sign-in --------------------------------------------------------
  const store = {
    get: (k) => (cfg.auth === 'token' ? localStorage : sessionStorage).getItem(k),
    set: (k, v) => (cfg.auth === 'token' ? localStorage : sessionStorage).setItem(k, v),
    del: (k) => { localStorage.removeItem(k); sessionStorage.removeItem(k); },
  };
  function b64url(bytes) {
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  async function cognitoStart() {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    const st = b64url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem('sb.pkce', JSON.stringify({ verifier, state: st, hash: location.hash }));
    const u = new URL(cfg.cognitoDomain + '/oauth2/authorize');
    u.search = new URLSearchParams({
      response_type: 'code', client_id: cfg.clientId, redirect_uri: cfg.redirectUrl, scope: 'openid email profile',
      state: st, code_challenge: b64url(new Uint8Array(digest)), code_challenge_method: 'S256',
    }).toString();
    location.assign(u.href);
  }
  async function cognitoToken(params) {
    const res = await fetch(cfg.cognitoDomain + '/oauth2/token', {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(Object.assign({ client_id: cfg.clientId }, params)).toString(),
    });
    if (!res.ok) throw new Error('sign-in refused (' + res.status + ')');
    const t = await res.json();
    if (!t.id_token) throw new Error('sign-in gave no ID token');
    store.set('sb.id', t.id_token);
    store.set('sb.exp', String(Date.now() + (t.expires_in || 3600) * 1000 - 60000));
    if (t.refresh_token) store.set('sb.refresh', t.refresh_token);
  }
  // cognitoReturn finishes a sign-in this tab started. A code this tab did
  // not ask for (the stack's ConsoleSignInUrl, a bookmark) is dropped
  // unused: it answers true, and the page starts its own flow with PKCE,
  // which Cognito's fresh session cookie answers at once.
  async function cognitoReturn() {
    const q = new URLSearchParams(location.search);
    const code = q.get('code');
    if (!code && !q.get('error')) return false;
    const saved = JSON.parse(sessionStorage.getItem('sb.pkce') || 'null');
    sessionStorage.removeItem('sb.pkce');
    history.replaceState(null, '', location.pathname + ((saved && saved.hash) || ''));
    if (q.get('error')) throw new Error('sign-in refused: ' + q.get('error'));
    if (!saved || saved.state !== q.get('state')) return true;
    await cognitoToken({ grant_type: 'authorization_code', code, redirect_uri: cfg.redirectUrl, code_verifier: saved.verifier });
    return false;
  }
  async function bearer() {
    if (cfg.auth === 'token') return store.get('sb.token');
    if (store.get('sb.id') && Date.now() < Number(store.get('sb.exp'))) return store.get('sb.id');
    const refresh = store.get('sb.refresh');
    if (refresh) {
      try { await cognitoToken({ grant_type: 'refresh_token', refresh_token: refresh }); return store.get('sb.id'); } catch (_) { /* sign in again */ }
    }
    return '';
  }
  function signedOut(message) {
    store.del('sb.token'); store.del('sb.id'); store.del('sb.refresh'); store.del('sb.exp');
    stopPolling();
    $('app').hidden = true;
    $('signin').hidden = false;
    $('token-form').hidden = cfg.auth !== 'token';
    $('cognito-signin').hidden = cfg.auth !== 'cognito';
    $('signin-error').textContent = message || '';
    (cfg.auth === 'token' ? $('token-input') : $('cognito-signin')).focus();
  }

  // ---- the API --------------------------------------------------------
  class APIError extends Error {
    constructor(status, body) {
      super((body && body.error) || ('HTTP ' + status));
      this.status = status;
      this.code = body && body.code;
    }
  }
  async function api(method, path, body, headers) {
    const tok = await bearer();
    if (!tok) { signedOut(); throw new APIError(401, { error: 'signed out' }); }
    const h = Object.assign({ Authorization: 'Bearer ' + tok }, headers || {});
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    if (res.status === 304) return { notModified: true };
    let data = null;
    if (res.status !== 204) { try { data = await res.json(); } catch (_) { data = null; } }
    if (res.status === 401) { signedOut('Your sign-in has expired or was refused.'); throw new APIError(401, data); }
    if (!res.ok) throw new APIError(res.status, data);
    return { data, etag: res.headers.get('ETag') || '' };
  }
  function fail(err) {
    if (err && err.status === 401) return;
    toast(err && err.message ? err.message : String(err), true);
  }

  // ---- inbox ----------------------------------------------------------
  function listQuery(cursor) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(state.filters)) if (v) q.set(k, v);
    q.set('limit', '25');
    if (cursor) q.set('cursor', cursor);
    return '/api/conversations?' + q.toString();
  }
  async function loadInbox() {
    const r = await api('GET', listQuery(), undefined, state.listTag ? { 'If-None-Match': state.listTag } : {});
    if (r.notModified) return;
    state.listTag = r.etag;
    // The first page is replaced; pages loaded further down stay, unless
    // the first page is now the whole inbox (no next): then what left it
    // (closed, erased) leaves the list too.
    const first = r.data.conversations;
    const ids = new Set(first.map((c) => c.id));
    const rest = r.data.next && (state.next || state.list.length > first.length) ? state.list.slice(first.length).filter((c) => !ids.has(c.id)) : [];
    state.list = first.concat(rest);
    if (!rest.length) state.next = r.data.next || '';
    renderInbox();
  }
  async function loadMore() {
    if (!state.next) return;
    const r = await api('GET', listQuery(state.next));
    const ids = new Set(state.list.map((c) => c.id));
    state.list = state.list.concat(r.data.conversations.filter((c) => !ids.has(c.id)));
    state.next = r.data.next || '';
    renderInbox();
  }
  async function contact(id) {
    if (!state.contacts.has(id)) {
      state.contacts.set(id, api('GET', '/api/contacts/' + encodeURIComponent(id)).then((r) => r.data, (e) => { state.contacts.delete(id); throw e; }));
    }
    return state.contacts.get(id);
  }
  function contactLabel(c, fallback) {
    if (!c) return fallback;
    if (c.contact && c.contact.name) return c.contact.name;
    const first = (c.identities || [])[0];
    return first ? first.address : fallback;
  }
  function renderInbox() {
    const ul = $('conv-list');
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('#conv-list a');
    const focusID = focused ? focused.dataset.id : '';
    ul.replaceChildren();
    for (const c of state.list) {
      const who = el('span', { class: 'who', text: c.contactId });
      const badges = el('span', { class: 'chs' }, ...c.channels.map(channelBadge));
      const a = el('a', { href: '#/conversations/' + encodeURIComponent(c.id), 'data-id': c.id, 'aria-current': c.id === state.current ? 'true' : 'false' },
        el('div', { class: 'row1' }, who, c.unread ? el('span', { class: 'unread', text: String(c.unread), 'aria-label': c.unread + ' unread' }) : null,
          el('span', { class: 'when', text: when(c.lastMessageAt || c.createdAt) })),
        el('div', { class: 'row1' }, badges, c.assignee ? el('span', { class: 'when', text: '→ ' + c.assignee }) : null),
        el('div', { class: 'preview', text: c.lastPreview || '' }));
      ul.append(el('li', {}, a));
      contact(c.contactId).then((ct) => { who.textContent = contactLabel(ct, c.contactId); }, () => {});
      if (c.id === focusID) a.focus();
    }
    $('inbox-empty').hidden = state.list.length > 0;
    $('more').hidden = !state.next;
  }

  // ---- one conversation -----------------------------------------------
  async function openConversation(id) {
    if (state.current !== id) {
      state.current = id; state.conv = null; state.convTag = ''; state.messages = []; state.older = '';
      $('timeline').replaceChildren();
      $('reply-body').value = '';
      state.replyKey = ''; state.noteKey = '';
    }
    document.body.dataset.view = 'conversation';
    $('nothing').hidden = true;
    $('conv').hidden = false;
    renderInbox();
    await loadConversation();
  }
  async function loadConversation() {
    const id = state.current;
    if (!id) return;
    let r;
    try {
      r = await api('GET', '/api/conversations/' + encodeURIComponent(id), undefined, state.convTag ? { 'If-None-Match': state.convTag } : {});
    } catch (e) {
      if (id !== state.current) return; // the agent moved on (or erased it) meanwhile
      if (e.status === 410) { toast('This conversation was erased on request'); location.hash = '#/'; return; }
      throw e;
    }
    if (r.notModified || id !== state.current) return;
    state.convTag = r.etag;
    state.conv = r.data.conversation;
    state.messages = r.data.messages;
    state.older = r.data.next || '';
    renderConversation();
    if (state.conv.unread > 0) {
      api('POST', '/api/conversations/' + encodeURIComponent(id) + '/read', {}).then(() => { state.listTag = ''; return loadInbox(); }).catch(fail);
    }
    const ct = await contact(state.conv.contactId);
    if (id === state.current) renderContact(ct);
  }
  async function loadOlder() {
    if (!state.older) return;
    const r = await api('GET', '/api/conversations/' + encodeURIComponent(state.current) + '?before=' + encodeURIComponent(state.older));
    state.messages = r.data.messages.concat(state.messages);
    state.older = r.data.next || '';
    renderTimeline(false);
  }
  function renderConversation() {
    const c = state.conv;
    $('conv-status').textContent = c.status + (c.snoozeUntil ? ' until ' + when(c.snoozeUntil) : '');
    $('conv-assignee').textContent = c.assignee ? 'Assigned to ' + c.assignee : 'Unassigned';
    $('conv-labels').textContent = c.labels.length ? 'Labels: ' + c.labels.join(', ') : '';
    if (document.activeElement !== $('labels-input')) $('labels-input').value = c.labels.join(', ');
    $('close').hidden = c.status === 'closed';
    $('reopen').hidden = c.status === 'open';
    $('assign-me').hidden = false;
    $('unassign').hidden = !c.assignee;
    contact(c.contactId).then((ct) => { $('conv-title').textContent = contactLabel(ct, c.contactId); }, () => {});
    renderTimeline(true);
    renderCompose();
  }
  function renderTimeline(toEnd) {
    const ol = $('timeline');
    const atEnd = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
    ol.replaceChildren(...state.messages.map(entry));
    $('older').hidden = !state.older;
    if (toEnd && (atEnd || !ol.dataset.seen)) ol.scrollTop = ol.scrollHeight;
    ol.dataset.seen = '1';
  }
  function meta(m, what) {
    const parts = [channelBadge(m.channel || 'note')];
    if (what) parts.push(el('span', { text: what }));
    parts.push(el('time', { datetime: m.createdAt, text: when(m.createdAt) }));
    return el('div', { class: 'meta' }, ...parts);
  }
  function entry(m) {
    const li = el('li', { 'data-id': m.id, 'data-kind': m.kind || 'message', class: m.kind || m.direction });
    switch (m.kind) {
      case 'event': {
        const did = m.event in EVENTS ? EVENTS[m.event] : m.event;
        const text = [m.agent || 'Someone', did, m.body].filter(Boolean).join(' ');
        li.append(el('div', { class: 'meta' }, el('span', { text }), el('time', { datetime: m.createdAt, text: when(m.createdAt) })));
        return li;
      }
      case 'note':
        li.className = 'note';
        li.append(el('div', { class: 'meta' }, el('span', { text: 'Private note by ' + (m.agent || 'an agent') }), el('time', { datetime: m.createdAt, text: when(m.createdAt) })),
          el('div', { class: 'body', text: m.body }));
        return li;
      case 'call':
        li.append(meta(m, (m.direction === 'outbound' ? 'Call to the customer' : 'Call') + (m.durationSeconds ? ', ' + duration(m.durationSeconds) : '') + (m.status ? ' · ' + m.status : '')));
        if (m.body) li.append(el('div', { class: 'body', text: m.body }));
        return li;
      case 'missed_call':
        li.append(meta(m, 'Missed call from ' + (m.from || 'the customer')));
        return li;
      case 'voicemail':
        li.append(meta(m, 'Voicemail' + (m.durationSeconds ? ', ' + duration(m.durationSeconds) : '')));
        li.append(mediaList(m.media, true));
        if (m.transcript) li.append(el('p', { class: 'transcript body', text: m.transcript }));
        else if (m.transcriptStatus) li.append(el('p', { class: 'meta', text: 'Transcript: ' + m.transcriptStatus }));
        return li;
      case 'reaction':
        li.append(meta(m, 'Reacted'), el('div', { class: 'body', text: m.body }));
        return li;
      case 'unsupported':
        li.append(meta(m, 'A message this desk cannot show yet (' + (m.providerType || 'unknown') + ')'));
        if (m.body) li.append(el('div', { class: 'body', text: m.body }));
        return li;
    }
    const who = m.direction === 'outbound' ? (m.agent ? 'Reply by ' + m.agent : 'Automatic reply') : (m.from || '');
    li.append(meta(m, who));
    if (m.kind === 'automated' || m.kind === 'junk') li.append(el('div', { class: 'meta', text: (m.kind === 'junk' ? 'Junk' : 'Automated') + (m.reason ? ': ' + m.reason : '') }));
    if (m.unsent) { li.append(el('div', { class: 'meta', text: 'The customer unsent this message.' })); return li; }
    if (m.subject) li.append(el('div', { class: 'subject', text: m.subject }));
    if (m.body) li.append(el('div', { class: 'body', text: m.body }));
    if (m.fullBody && m.fullBody !== m.body) {
      li.append(el('details', {}, el('summary', { text: 'Quoted history' }), el('div', { class: 'body', text: m.fullBody })));
    }
    if (m.editedAt) li.append(el('div', { class: 'meta', text: 'Edited ' + when(m.editedAt) + (m.originalBody ? ' (was: ' + m.originalBody + ')' : '') }));
    if (m.media && m.media.length) li.append(mediaList(m.media, false));
    if (m.direction === 'outbound' && m.status) {
      const hist = (m.statusHistory || []).map((s) => s.status + ' ' + when(s.at)).join(' → ');
      li.append(el('div', { class: 'status ' + m.status, text: m.status + (m.errorCode ? ' (' + m.errorCode + ')' : ''), title: hist, 'data-status': m.status }));
    }
    return li;
  }
  function mediaList(media, audio) {
    const box = el('div', { class: 'media' });
    for (const md of media || []) {
      const name = md.filename || md.contentType || 'attachment';
      if (!md.key) {
        box.append(el('div', { class: 'meta', text: name + (md.status === 'failed' ? ' — could not be copied' + (md.error ? ': ' + md.error : '') : ' — being copied') }));
        continue;
      }
      const holder = el('div', {}, el('span', { class: 'meta', text: name }));
      box.append(holder);
      api('GET', '/api/media/' + md.key.split('/').map(encodeURIComponent).join('/'), undefined, { Accept: 'application/json' }).then((r) => {
        const u = safeURL(r.data && r.data.url);
        if (!u) return;
        let view;
        if (audio || md.contentType.startsWith('audio/')) view = el('audio', { controls: true, preload: 'none', src: u, 'aria-label': name });
        else if (md.contentType.startsWith('image/')) view = el('img', { src: u, alt: name });
        else view = el('a', { href: u, target: '_blank', rel: 'noopener noreferrer', text: name });
        holder.replaceChildren(view);
      }, () => {});
    }
    return box;
  }
  function renderContact(ct) {
    const c = ct.contact;
    $('contact-name').textContent = contactLabel(ct, c.id);
    $('contact-language').textContent = c.language || 'not set';
    $('contact-blocked').textContent = c.blocked ? 'yes' : 'no';
    $('identities').replaceChildren(...(ct.identities || []).map((i) => el('li', {}, channelBadge(i.channel), document.createTextNode(' ' + i.address))));
    $('past').replaceChildren(...(ct.conversations || []).map((p) => el('li', {},
      el('a', { href: '#/conversations/' + encodeURIComponent(p.id), text: p.status + ' · ' + when(p.lastMessageAt || p.createdAt), 'aria-current': p.id === state.current ? 'true' : 'false' }))));
    // A poll re-renders the panel: an armed button of the same contact
    // stays armed (the agent's second press must find it so).
    const same = $('contact').dataset.id === c.id;
    $('contact').dataset.id = c.id;
    if (!same || $('block').dataset.armed !== '1') resetConfirm($('block'), c.blocked ? 'Unblock' : 'Block');
    if (!same || $('erase').dataset.armed !== '1') resetConfirm($('erase'), 'Erase this person');
  }
  function renderCompose() {
    const c = state.conv;
    const sel = $('reply-channel');
    const rules = c.replyRules || {};
    const chans = Object.keys(rules).length ? Object.keys(rules) : c.channels.filter((ch) => ch !== 'voice');
    const latest = latestInboundChannel() || chans[0] || '';
    const keep = state.replyFor === c.id && chans.includes(sel.value) ? sel.value : latest;
    sel.replaceChildren(...chans.map((ch) => el('option', { value: ch, text: CHANNELS[ch] || ch, selected: ch === keep })));
    sel.value = keep;
    state.replyFor = c.id;
    renderRule();
  }
  function latestInboundChannel() {
    for (let i = state.messages.length - 1; i >= 0; i--) {
      const m = state.messages[i];
      if (!m.kind && m.direction === 'inbound' && m.channel) return m.channel;
    }
    return '';
  }
  function renderRule() {
    const ch = $('reply-channel').value;
    const rule = (state.conv && state.conv.replyRules || {})[ch];
    const r = $('rule');
    const needsTemplate = rule && rule.code === 'whatsapp_window';
    if (!rule) { r.textContent = ''; r.className = ''; }
    else if (rule.allowed) {
      r.className = '';
      r.textContent = rule.windowEndsAt ? 'Replies allowed until ' + when(rule.windowEndsAt) + (rule.tag ? ' (as ' + rule.tag + ')' : '') : 'Replies allowed';
    } else {
      r.className = 'refused';
      r.textContent = rule.reason || rule.code;
    }
    $('template-row').hidden = !needsTemplate;
    if (needsTemplate) loadTemplates().catch(fail);
    $('send').disabled = state.busy || (rule && !rule.allowed && !needsTemplate);
  }
  async function loadTemplates() {
    if (!state.templates) state.templates = (await api('GET', '/api/templates?channel=whatsapp')).data.templates;
    const sel = $('template');
    if (sel.options.length) return;
    sel.replaceChildren(...state.templates.map((t, i) => el('option', { value: String(i), text: t.name + ' (' + t.language + '): ' + t.body })));
  }

  // ---- actions --------------------------------------------------------
  function convPath(suffix) { return '/api/conversations/' + encodeURIComponent(state.current) + (suffix || ''); }
  async function patch(body, done) {
    const r = await api('PATCH', convPath(), body);
    state.conv = Object.assign(r.data.conversation, { replyRules: state.conv.replyRules });
    state.convTag = ''; state.listTag = '';
    toast(done);
    await Promise.all([loadConversation(), loadInbox()]);
  }
  async function sendReply(ev) {
    ev.preventDefault();
    if (state.busy || !state.current) return;
    const body = $('reply-body').value;
    const ch = $('reply-channel').value;
    const req = { body, channel: ch };
    const rule = (state.conv.replyRules || {})[ch];
    if (rule && rule.code === 'whatsapp_window') {
      const t = state.templates && state.templates[Number($('template').value)];
      if (!t) { toast('Choose a template: WhatsApp needs one now.', true); return; }
      const params = $('template-params').value.split(',').map((s) => s.trim()).filter(Boolean);
      req.template = { name: t.name, language: t.language, params };
      if (!body.trim()) delete req.body;
    } else if (!body.trim()) { toast('Write something first.', true); return; }
    // One key per reply: a double click, or a retry after a lost answer,
    // is the same reply, and the API sends it once.
    const fingerprint = JSON.stringify(req);
    if (!state.replyKey || state.replyKeyFor !== fingerprint) { state.replyKey = uuid(); state.replyKeyFor = fingerprint; }
    state.busy = true; $('send').disabled = true;
    try {
      await api('POST', convPath('/messages'), req, { 'Idempotency-Key': state.replyKey });
      $('reply-body').value = ''; $('template-params').value = '';
      state.replyKey = '';
      toast('Reply queued on ' + (CHANNELS[ch] || ch));
      state.convTag = '';
      await loadConversation();
    } catch (e) { fail(e); } finally { state.busy = false; renderRule(); }
  }
  async function addNote() {
    const body = $('reply-body').value;
    if (!body.trim() || state.busy) { if (!body.trim()) toast('Write the note first.', true); return; }
    if (!state.noteKey) state.noteKey = uuid();
    state.busy = true;
    try {
      await api('POST', convPath('/notes'), { body }, { 'Idempotency-Key': state.noteKey });
      $('reply-body').value = ''; state.noteKey = '';
      toast('Note added');
      state.convTag = '';
      await loadConversation();
    } catch (e) { fail(e); } finally { state.busy = false; renderRule(); }
  }
  // confirmFirst turns a destructive button into "Confirm …" for five
  // seconds: the second press acts. No browser dialog.
  function confirmFirst(btn, label, act) {
    if (btn.dataset.armed === '1') { resetConfirm(btn); act().catch(fail); return; }
    btn.dataset.armed = '1';
    btn.dataset.label = btn.textContent;
    btn.textContent = label;
    btn.classList.add('confirm');
    setTimeout(() => resetConfirm(btn), 5000);
  }
  function resetConfirm(btn, text) {
    if (btn.dataset.armed === '1' && btn.dataset.label) btn.textContent = btn.dataset.label;
    btn.dataset.armed = '';
    btn.classList.remove('confirm');
    if (text) btn.textContent = text;
  }
  async function refreshContact(id) {
    state.contacts.delete(id);
    renderContact(await contact(id));
  }

  // ---- routing, polling, keys -----------------------------------------
  function route() {
    const m = /^#\/conversations\/([^/]+)$/.exec(location.hash);
    if (m) { openConversation(decodeURIComponent(m[1])).catch(fail); return; }
    state.current = '';
    document.body.dataset.view = 'list';
    $('conv').hidden = true;
    $('nothing').hidden = false;
    renderInbox();
  }
  let pollTimer = 0;
  function startPolling() {
    stopPolling();
    pollTimer = setInterval(() => {
      if (document.hidden) return;
      loadInbox().catch(fail);
      if (state.current) loadConversation().catch(fail);
    }, cfg.pollMillis);
  }
  function stopPolling() { clearInterval(pollTimer); }
  function step(delta) {
    if (!state.list.length) return;
    let i = state.list.findIndex((c) => c.id === state.current);
    i = i < 0 ? 0 : Math.min(state.list.length - 1, Math.max(0, i + delta));
    location.hash = '#/conversations/' + encodeURIComponent(state.list[i].id);
    const a = document.querySelector('#conv-list a[data-id="' + CSS.escape(state.list[i].id) + '"]');
    if (a) a.focus();
  }
  function keys(ev) {
    const t = ev.target;
    const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && t === $('reply-body')) { $('compose').requestSubmit(); return; }
    if (ev.key === 'Escape') { if (typing) t.blur(); else location.hash = '#/'; return; }
    if (typing || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === 'j') { ev.preventDefault(); step(1); }
    else if (ev.key === 'k') { ev.preventDefault(); step(-1); }
    else if ((ev.key === 'r' || ev.key === 'n') && state.current) { ev.preventDefault(); $('reply-body').focus(); }
  }

  function wire() {
    $('token-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      store.set('sb.token', $('token-input').value);
      $('token-input').value = '';
      await enter();
    });
    $('cognito-signin').addEventListener('click', () => cognitoStart().catch((e) => { $('signin-error').textContent = e.message; }));
    $('signout').addEventListener('click', () => signedOut('Signed out.'));
    for (const f of ['status', 'assignee', 'channel', 'team', 'label']) {
      $('f-' + f).addEventListener('change', () => {
        state.filters[f] = $('f-' + f).value.trim();
        state.listTag = ''; state.next = ''; state.list = [];
        loadInbox().catch(fail);
      });
    }
    $('filters').addEventListener('submit', (ev) => ev.preventDefault());
    const chSel = $('f-channel');
    for (const [v, name] of Object.entries(CHANNELS)) chSel.append(el('option', { value: v, text: name }));
    $('more').addEventListener('click', () => loadMore().catch(fail));
    $('older').addEventListener('click', () => loadOlder().catch(fail));
    $('back').addEventListener('click', () => { location.hash = '#/'; });
    $('compose').addEventListener('submit', sendReply);
    $('add-note').addEventListener('click', () => addNote());
    $('reply-channel').addEventListener('change', renderRule);
    $('assign-me').addEventListener('click', () => patch({ assignee: 'me' }, 'Assigned to you').catch(fail));
    $('unassign').addEventListener('click', () => patch({ assignee: null }, 'Unassigned').catch(fail));
    $('assign-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const who = $('assign-input').value.trim();
      if (who) patch({ assignee: who }, 'Assigned to ' + who).then(() => { $('assign-input').value = ''; }, fail);
    });
    $('close').addEventListener('click', () => patch({ status: 'closed' }, 'Closed').catch(fail));
    $('reopen').addEventListener('click', () => patch({ status: 'open' }, 'Reopened').catch(fail));
    $('snooze').addEventListener('change', () => {
      const v = $('snooze').value;
      $('snooze').value = '';
      if (!v) return;
      const body = { status: 'snoozed' };
      if (v === '1h') body.snoozeUntil = new Date(Date.now() + 3600e3).toISOString();
      if (v === 'tomorrow') { const d = new Date(); d.setDate(d.getDate() + 1); d.setHours(9, 0, 0, 0); body.snoozeUntil = d.toISOString(); }
      patch(body, 'Snoozed').catch(fail);
    });
    $('labels-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const labels = $('labels-input').value.split(',').map((s) => s.trim()).filter(Boolean);
      patch({ labels }, 'Labels saved').catch(fail);
    });
    $('call').addEventListener('click', () => {
      api('POST', convPath('/call'), {}, { 'Idempotency-Key': uuid() }).then(() => toast('Calling: your phone rings first'), fail);
    });
    $('block').addEventListener('click', () => {
      if (!state.conv) return;
      const id = state.conv.contactId;
      const ct = state.contacts.get(id);
      Promise.resolve(ct).then((c) => {
        const blocked = !!(c && c.contact.blocked);
        confirmFirst($('block'), blocked ? 'Confirm: unblock' : 'Confirm: block this contact', async () => {
          await api('PATCH', '/api/contacts/' + encodeURIComponent(id), { blocked: !blocked });
          toast(blocked ? 'Unblocked' : 'Blocked');
          await refreshContact(id);
          state.convTag = '';
          await loadConversation();
        });
      });
    });
    $('merge-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const from = $('merge-input').value.trim();
      if (!from || !state.conv) return;
      const into = state.conv.contactId;
      const btn = $('merge-form').querySelector('button');
      confirmFirst(btn, 'Confirm merge', async () => {
        await api('POST', '/api/contacts/' + encodeURIComponent(into) + '/merge', { from });
        $('merge-input').value = '';
        toast('Merged');
        state.contacts.delete(from);
        await refreshContact(into);
        state.listTag = ''; state.convTag = '';
        await Promise.all([loadInbox(), loadConversation()]);
      });
    });
    // A person's data: everything as a JSON download (GDPR/CCPA access),
    // or erased for good after a confirming second press.
    $('export').addEventListener('click', () => {
      if (!state.conv) return;
      const id = state.conv.contactId;
      api('GET', '/api/contacts/' + encodeURIComponent(id) + '/export').then((r) => {
        const url = URL.createObjectURL(new Blob([JSON.stringify(r.data, null, 2)], { type: 'application/json' }));
        const a = el('a', { href: url, download: 'contact-' + id + '.json' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
        toast('Exported: contact-' + id + '.json');
      }, fail);
    });
    $('erase').addEventListener('click', () => {
      if (!state.conv) return;
      const id = state.conv.contactId;
      confirmFirst($('erase'), 'Confirm: erase everything about them', async () => {
        await api('DELETE', '/api/contacts/' + encodeURIComponent(id));
        state.current = ''; // its timeline is gone: polls stop asking for it
        toast('Erased: nothing of this person is kept');
        state.contacts.delete(id);
        state.listTag = '';
        location.hash = '#/';
        await loadInbox();
      });
    });
    window.addEventListener('hashchange', route);
    document.addEventListener('keydown', keys);
  }

  async function enter() {
    $('signin').hidden = true;
    $('app').hidden = false;
    try {
      await loadInbox();
    } catch (e) {
      if (e.status === 401) return;
      fail(e);
    }
    route();
    startPolling();
  }

  async function start() {
    wire();
    cfg = Object.assign(cfg, await (await fetch('/app/config.json', { cache: 'no-store' })).json());
    try {
      if (cfg.auth === 'cognito' && (await cognitoReturn())) { await cognitoStart(); return; }
    } catch (e) { signedOut(e.message); return; }
    if (!(await bearer())) { signedOut(); return; }
    await enter();
  }
  start().catch((e) => { document.body.textContent = 'The console could not start: ' + e.message; });
})();
