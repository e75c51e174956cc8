my_password := "Z_o!Zl7XxV!*2"  #!pos
apiToken := "MnloGddjrBcDsvcgn88cE"  #!pos
const secretKey = "772857N1HVbteFxFi9uOMv"  #!pos
var dbPassword = "_laLl7As94PNIGU"  #!pos
cfg.Password = "3VzkK*FIL0m-Q7Y"  #!pos
client := github.NewClient(nil).WithAuthToken("ghp_mOqZ2lNJmDsbusfKRcGsBgYBP0Qn3KRifL3n")  #!pos
os.Setenv("API_KEY", "0yeg3hSiBoSUHN2xRWNVZ")  #!pos
dsn := "postgres://svc:ZTM0tO74_kua8BP@db.prod.internal:5432/orders"  #!pos
token := `cRLCRvg7eTjfj1pLNsyboQJtW`  #!pos
password := os.Getenv("DB_PASSWORD")  #!neg
if password != confirm {  #!neg
func Login(user string, password string) error {  #!neg
token, err := auth.NewToken(ctx)  #!neg
secretName := fmt.Sprintf("%s-secret", name)  #!neg
var apiKey string  #!neg
if token == "" {  #!neg
passwordHash, _ := bcrypt.GenerateFromPassword([]byte(pw), 12)  #!neg
dsn := "postgres://admin:admin@localhost:5432/dev"  #!flag
