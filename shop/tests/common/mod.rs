//! A real shop on a real socket (127.0.0.1, port 0) over an embedded engine
//! in a temporary directory, and a tiny browser: a cookie jar, forms, no
//! redirects followed (tests look at every 303).

#![allow(dead_code)]

use boxoffice_shop::app::Shared;
use boxoffice_shop::config::ShopConfig;
use boxoffice_shop::inventory::{Client, ClientOptions};
use boxoffice_shop::secrets::Secrets;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub const ADMIN_PASSWORD: &str = "correct horse";
pub const API_TOKEN: &str = "test-api-token-0123456789";

pub struct TestShop {
    pub base: String,
    pub state: Shared,
    pub client: Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

fn secrets() -> Secrets {
    Secrets { mac_key: [42; 32], admin_password: ADMIN_PASSWORD.into(), api_token: API_TOKEN.into() }
}

/// Serve `state` on a fresh port: the base URL, the shutdown sender, the task.
async fn serve(state: Shared) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        boxoffice_shop::server::run(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (base, tx, server)
}

impl TestShop {
    pub async fn start() -> TestShop {
        TestShop::start_with(ShopConfig::default()).await
    }

    pub async fn start_with(config: ShopConfig) -> TestShop {
        let dir = tempfile::tempdir().unwrap();
        let client = Client::embedded(dir.path().join("engine"), ClientOptions::default()).await.unwrap();
        let inventory = boxoffice_shop::backend::Inventory::new(client.clone());
        assert!(boxoffice_shop::demo::load_if_absent(&inventory, "demo").await.unwrap());
        let state = boxoffice_shop::cli::state(client.clone(), secrets(), config);
        let (base, tx, server) = serve(state.clone()).await;
        TestShop { base, state, client, shutdown: Some(tx), server: Some(server), _dir: Some(dir) }
    }

    /// Another shop process on the same engine, with the same secrets.
    pub async fn second(&self) -> TestShop {
        let state = boxoffice_shop::cli::state(self.client.clone(), secrets(), ShopConfig::default());
        let (base, tx, server) = serve(state.clone()).await;
        TestShop {
            base,
            state,
            client: self.client.clone(),
            shutdown: Some(tx),
            server: Some(server),
            _dir: None,
        }
    }

    /// Stop this shop's server, leaving the engine running (for a [`TestShop::second`]).
    pub async fn stop_server(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.client.shutdown().await;
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub set_cookies: Vec<String>,
}

impl Page {
    /// The value of hidden field `name` (the first one).
    pub fn field(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle).unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + needle.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }

    pub fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

/// A browser without JavaScript: cookies, forms, no redirects followed.
#[derive(Clone)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
    pub jar: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser { base: base.into(), http: http(), jar: Arc::new(Mutex::new(BTreeMap::new())) }
    }

    fn cookie_header(&self) -> String {
        self.jar.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar.lock().unwrap().insert(name.into(), value.into());
    }

    async fn read(&self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        let set_cookies: Vec<String> =
            response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for cookie in &set_cookies {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let mut jar = self.jar.lock().unwrap();
            if value.is_empty() || cookie.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.into(), value.into());
            }
        }
        let body = response.text().await.unwrap();
        Page { status, location, body, set_cookies }
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(form).unwrap();
        self.post_raw(path, body.into_bytes()).await
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Page {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// Log in as admin.
    pub async fn login(&self) {
        let page = self.get("/admin/login").await;
        let csrf = page.field("csrf");
        let done = self
            .post("/admin/login", &[("csrf", &csrf), ("password", ADMIN_PASSWORD), ("next", "/admin/")])
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
    }

    /// Add `quantity` of `item` to the cart from the event page; the response.
    pub async fn add_to_cart(&self, event_path: &str, item: u64, quantity: u32) -> Page {
        let page = self.get(event_path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let (csrf, idem) = (page.field("csrf"), page.field("idem"));
        let field = format!("item_{item}");
        let quantity = quantity.to_string();
        self.post(&format!("{event_path}cart/add"), &[("csrf", &csrf), ("idem", &idem), (&field, &quantity)])
            .await
    }
}

/// Configure the waiting room of `event` on its admin page, as `admin`
/// (logged in), and wait until every shop's cached read of rooms has expired.
pub async fn configure_room(
    admin: &Browser,
    event: u64,
    admit_per_minute: &str,
    arrivals: &str,
    dry_run: bool,
) {
    let page = admin.get(&format!("/admin/events/{event}/")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form = vec![
        ("csrf", page.field("csrf")),
        ("idem", page.field("idem")),
        ("admit_per_minute", admit_per_minute.to_owned()),
        ("arrivals_per_second_max", arrivals.to_owned()),
        ("in_flight_max", "1000".to_owned()),
    ];
    if dry_run {
        form.push(("dry_run", "1".to_owned()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = admin.post(&format!("/admin/events/{event}/waiting-room"), &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    // Each shop reads a room at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
}

/// Whether `page` sends its visitor to the jazz night's queue.
pub fn queued(page: &Page) -> bool {
    page.status == 303 && page.location.as_deref() == Some("/demo/jazz-night/queue")
}

/// The demo's ids (fixed by the order the demo creates them).
pub mod demo {
    pub const FESTIVAL: &str = "/demo/summer-festival/";
    pub const JAZZ: &str = "/demo/jazz-night/";
}

/// Item ids of an event by name, from the API.
pub async fn items(base: &str, event: &str) -> BTreeMap<String, (u64, Vec<u64>)> {
    let json: serde_json::Value = http()
        .get(format!("{base}/api/v1/organizers/demo/events/{event}/items/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let quotas = i["quotas"].as_array().unwrap().iter().map(|q| q.as_u64().unwrap()).collect();
            (i["name"].as_str().unwrap().to_owned(), (i["id"].as_u64().unwrap(), quotas))
        })
        .collect()
}
