private static final String API_KEY = "UR0UNBCuNmqh2BbLWXnjZs0O9cS6B";  #!pos
String password = "*JRFV794PHxPs4";  #!pos
props.setProperty("password", "sk+0fehINC2K%");  #!pos
conn = DriverManager.getConnection("jdbc:mysql://db:3306/app?user=app&password=j_KkRYy-Hgs!46ZR");  #!pos
private String secretKey = "KSueW0xvzGRCrD0GseAnkHndVTohKP3";  #!pos
String token = "ghp_qWpImapEl0uzg7nO6rtv1t4X5GabyKT5Ppcn";  #!pos
String password = System.getenv("DB_PASSWORD");  #!neg
if (password.equals(confirmPassword)) {  #!neg
public void setPassword(String password) { this.password = password; }  #!neg
@Value("${app.api-key}") private String apiKey;  #!neg
private final TokenService tokenService;  #!neg
String secret = vault.read("secret/app").getData().get("key");  #!neg
String password = "password";  #!flag
