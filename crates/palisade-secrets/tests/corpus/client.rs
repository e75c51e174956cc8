const API_KEY: &str = "Ft1YOOkCv6WxxUBKlASuh3U";  #!pos
let password = "TzKQXr-972!YH";  #!pos
let token = String::from("ghp_Shi3T27eKplPaxNC55vtWY0hAlcIu5ayA12h");  #!pos
let client = Client::new().bearer_auth("A1Freo9s8VttghMMXwU7mo31GcKnlDd");  #!pos
static SECRET: &str = "1OFa4UYxRx4LGykB2cPhiLta";  #!pos
let password = std::env::var("DB_PASSWORD")?;  #!neg
fn login(user: &str, password: &str) -> Result<()> {  #!neg
if token == expected { return Ok(()); }  #!neg
let token = Token::generate(&mut rng);  #!neg
pub password: Option<String>,  #!neg
let api_key = cfg.api_key.clone();  #!neg
let api_key = "deadbeefdeadbeefdeadbeefdeadbeef";  #!flag
