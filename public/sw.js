// Cairn's service worker: caches the app shell (script, wasm, styles, icons, offline page) and
// answers page navigations with the offline page when the network is gone. Data is never cached.
const VERSION = 'cairn-shell-v2';
const SHELL = ['/offline', '/pkg/cairn.js', '/pkg/cairn_bg.wasm', '/pkg/cairn.css', '/manifest.webmanifest', '/icons/icon-192.png'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    // Offline, a page is sent to /offline itself (rather than shown at its own address) so the
    // app hydrates the page it is given.
    event.respondWith(fetch(request).catch(() => (
      url.pathname === '/offline' ? caches.match('/offline') : Response.redirect('/offline', 302)
    )));
    return;
  }
  if (url.pathname.startsWith('/pkg/') || url.pathname.startsWith('/icons/')) {
    // Network first so a new build is picked up; the cache when offline.
    event.respondWith(
      fetch(request)
        .then((response) => {
          const copy = response.clone();
          caches.open(VERSION).then((cache) => cache.put(request, copy));
          return response;
        })
        .catch(() => caches.match(request)),
    );
  }
});

// Web Push: Cairn sends {title, body, link} encrypted for this browser; show it, and open (or
// focus) the link when it is clicked.
self.addEventListener('push', (event) => {
  let notice = { title: 'Cairn', body: '', link: '/inbox' };
  try {
    notice = { ...notice, ...event.data.json() };
  } catch (_) {
    // An empty or unreadable push still says something arrived.
  }
  event.waitUntil(self.registration.showNotification(notice.title, {
    body: notice.body,
    icon: '/icons/icon-192.png',
    tag: notice.link,
    data: { link: notice.link },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const link = (event.notification.data && event.notification.data.link) || '/inbox';
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => w.url === link);
      return open ? open.focus() : self.clients.openWindow(link);
    }),
  );
});
