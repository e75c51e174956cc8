const apiKey = "uvYNnU04b5fYNR7JNKkk68Raa";  #!pos
const apiKey2 = `iy1HhKi1GNn9AzoviQL5yBdIy3nF`;  #!pos
let password = '67h0lf+GuhIqRo';  #!pos
config["password"] = "5oWRj!2pIxgOfMA1";  #!pos
process.env.API_TOKEN = "mZi8TEDNGpTdjHwxr9SGlN";  #!pos
const client = new Client({ token: "ghp_y9CHnxpPvMEUywF1pBIyXjEbxk0JOnFDtB9p" });  #!pos
const slack = new WebClient("xoxb-14001739616-850840525381-QiQYMLLX5k40plv4c2BK1rzi");  #!pos
module.exports = { secret: "9nPxjj2fqY8YBLlNx0qMyOKdmeq" };  #!pos
const sg = "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";  #!pos
fetch(url, { headers: { Authorization: "token ghp_NE8pXEa7l1jWt3zLa69a3yBc1m3wPLJ2HZL4" } });  #!pos
if ("password" === e.type) { return; }  #!neg
if (token !== undefined && token != null) {  #!neg
const password = process.env.DB_PASSWORD;  #!neg
const apiKey = config.get("apiKey");  #!neg
input.type = "password";  #!neg
const secret = await vault.read(path);  #!neg
const tokenizer = new Tokenizer(options);  #!neg
const passwordField = document.getElementById("password");  #!neg
const url = `${API_BASE}/token?client_id=${clientId}`;  #!neg
el.setAttribute("data-password-visible", "true");  #!neg
const apiKey = "your-api-key-here";  #!flag
const token = "xxxxxxxxxxxxxxxxxxxxxxxxxxxx";  #!flag
