const API_KEY: string = "Bhn2H1tr4B4ArWqvhRchc6JQ";  #!pos
export const dbPassword = "h*qQupnobaG76km";  #!pos
private readonly secret = "Da1NBwBnIjYBKRP2AxmVpL";  #!pos
const openaiClient = new OpenAI({ apiKey: "bjZHIMwmDPALUWU47UERO7mc" });  #!pos
const npmToken = "npm_SGbH2v6sCZhzlGMbahusaVeAgR7NXDDdSbh0";  #!pos
const GITLAB_TOKEN = "glpat-U6p8SKyb2JeieP4O1Dvv";  #!pos
function connect(password: string, token?: string): void {}  #!neg
interface Creds { password: string; apiKey: string }  #!neg
type Token = { token: string; expiresAt: number };  #!neg
const password = this.form.value.password;  #!neg
if (apiKey === "") throw new Error("missing api key");  #!neg
const tokenKey = "auth.token";  #!neg
const secret = "<YOUR_SECRET>";  #!flag
