DB_PASSWORD = "p5QEz#%x9L6Hz"  #!pos
api_key = '5ShuHRWYl398ZpkpmVxKGmZR'  #!pos
config["password"] = "9!s%uyA3q0*9mz"  #!pos
os.environ["API_TOKEN"] = "qI2vYZ10QIEfFjEjFfpPfIwn76YOz"  #!pos
client = Client(api_key="L0IRWHaiXS24fEz0zlyAirTzRSxjvvU2")  #!pos
SECRET_KEY = "t6iBSI3b5KBjXkNVZP5BaGJJ0DJga"  #!pos
GITHUB_TOKEN = "ghp_XMXqBVzENJE3A1415Yjol2Yl9xUOtFdX0f7w"  #!pos
headers = {"Authorization": "Bearer ghp_WIVl2Hj7nq8ek1KSYoi7tgLxewvfMr7wUkzS"}  #!pos
stripe.api_key = "sk_live_A1GAVHTar7BZVcKqzrfnskxiSRPCfgW1"  #!pos
conn = psycopg2.connect("postgresql://app:H7-lCj7OulCU_#@db.internal:5432/app")  #!pos
self.secret = "X6GXy2zRtDWbGP771mQnbfzQWxTe"  #!pos
auth_token: str = "arnpIiTPub8ioTTCrbHBR7VGkrAi5"  #!pos
password = os.environ["DB_PASSWORD"]  #!neg
api_key = os.getenv("API_KEY")  #!neg
if password == confirm_password:  #!neg
def login(username: str, password: str) -> bool:  #!neg
token = request.headers.get("Authorization")  #!neg
secret_key = settings.SECRET_KEY  #!neg
password_hash = bcrypt.hashpw(password, salt)  #!neg
token_url = "https://oauth2.googleapis.com/token"  #!neg
API_KEY_HEADER = "X-Api-Key"  #!neg
password = None  #!neg
api_key = ""  #!neg
MAX_TOKEN_LENGTH = 4096  #!neg
print("password: %s" % password)  #!neg
log.info(f"token={token}")  #!neg
api_key = "FAKENpNrEdHMTYwGdNDsZSsT6NamQO3"  #!flag
password = "changeme-BcvMEy0iwd6F6k#9"  #!flag
aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  #!flag
