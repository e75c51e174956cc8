val apiKey = "Wux50AhuCDnJmuHLOqnx2fZyP3jCmB"  #!pos
private const val PASSWORD = "*_w4RGVs-WCe5*"  #!pos
val client = OkHttpClient.Builder().addInterceptor { it.proceed(it.request().newBuilder().header("Authorization", "Bearer ghp_NycmstTx9ncWfBO9PbCnQyQkwhURFU9jNDw2").build()) }  #!pos
val password = System.getenv("DB_PASSWORD")  #!neg
fun login(user: String, password: String): Boolean  #!neg
if (token == null) return  #!neg
val token: String by lazy { tokenProvider.get() }  #!neg
