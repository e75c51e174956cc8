var apiKey = "rcZjT0oJDSC5MhjNVhr0wy";  #!pos
const string Password = "8G5+e#_*IgfA";  #!pos
var conn = "Server=tcp:sql1.prod,1433;Database=app;User ID=app;Password=5x!2aQ!iZ6odrU;";  #!pos
client.DefaultRequestHeaders.Add("X-Api-Key", "fnrL8kZZP1JnntXt2LyOIeALbaRG6u");  #!pos
string secret = @"YjU1VawPyHDHQ9Xzvh10dNM1iJUHOTXT";  #!pos
var password = Environment.GetEnvironmentVariable("DB_PASSWORD");  #!neg
if (password == null) throw new ArgumentNullException(nameof(password));  #!neg
public string Password { get; set; }  #!neg
var token = await tokenProvider.GetTokenAsync();  #!neg
var conn = "Server=localhost;Database=app;Integrated Security=true;";  #!neg
var conn = "Server=localhost;Database=app;User Id=sa;Password=!m2%f9PrBOsJ!_-x;";  #!flag
