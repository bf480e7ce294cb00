"""Customer wording for the sample-data generator: realistic first messages by topic and language.

Topics follow a crypto exchange's support desk (see docs/DATA_CONTRACT.md). Chinese and English
read naturally; other languages carry a few phrases each, the rest fall back to English, as
real multilingual desks see.
"""

from __future__ import annotations

TOPICS = {
    # topic: (share of contacts, is a channel-heavy topic)
    "registration": 0.08,
    "deposit": 0.14,
    "withdrawal": 0.19,
    "trading_fees": 0.07,
    "kyc": 0.16,
    "account_security": 0.10,
    "p2p": 0.08,
    "futures": 0.06,
    "api": 0.03,
    "earn": 0.04,
    "promotions": 0.03,
    "staking_rewards": 0.02,  # an emerging topic: no article, rarely tagged by agents
}

MESSAGES = {
    "registration": {
        "zh-CN": [
            "注册的时候一直收不到邮箱验证码,怎么办?",
            "手机号注册提示号码已被使用,可是我没注册过",
            "密码要求是什么?设置了好几次都说不符合规则",
            "请问可以用护照注册账户吗?",
        ],
        "en": [
            "I never receive the email verification code when signing up.",
            "Sign-up says my phone number is already in use but I never registered.",
            "What are the password rules? It keeps rejecting my password.",
            "Can I register an account from outside China?",
        ],
        "ko": ["회원가입 인증 코드가 오지 않습니다."],
        "ja": ["登録時に認証コードが届きません。"],
        "ru": ["Не приходит код подтверждения при регистрации."],
    },
    "deposit": {
        "zh-CN": [
            "充值USDT两个小时了还没到账",
            "转错网络了,TRC20充到了ERC20地址,能找回吗?",
            "充值需要多少个区块确认?",
            "银行卡充值失败但是钱已经扣了",
        ],
        "en": [
            "My USDT deposit has not arrived after two hours.",
            "I sent BTC on the wrong network, can you recover it?",
            "How many confirmations does a deposit need?",
            "Deposit shows completed on the blockchain but not in my account.",
        ],
        "ko": ["입금한 USDT가 아직 도착하지 않았어요."],
        "vi": ["Tôi nạp USDT nhưng chưa thấy vào tài khoản."],
        "tr": ["USDT yatırdım ama hesabıma gelmedi."],
    },
    "withdrawal": {
        "zh-CN": [
            "提现一直显示审核中,什么时候能到?",
            "提币为什么需要先完成身份认证?",
            "提现被拒绝了,原因是什么?",
            "在资产页面找不到提现按钮",
            "提币手续费怎么这么高?",
        ],
        "en": [
            "My withdrawal has been pending review for hours.",
            "Why do I need identity verification before I can withdraw?",
            "My withdrawal was rejected, what is the reason?",
            "I can't find the withdraw button on the assets page.",
            "Why is the withdrawal fee so high?",
        ],
        "ru": ["Вывод средств уже несколько часов на проверке."],
        "es": ["Mi retiro lleva horas pendiente."],
        "pt-BR": ["Meu saque está pendente há horas."],
    },
    "trading_fees": {
        "zh-CN": [
            "现货交易手续费是多少?",
            "VIP等级的手续费折扣怎么计算?",
            "用平台币抵扣手续费怎么开启?",
        ],
        "en": [
            "What are the spot trading fees for BTC/USDT?",
            "How are fee discounts calculated for VIP tiers?",
            "Maker and taker fees look wrong on my last trade.",
        ],
        "ja": ["取引手数料はいくらですか?"],
    },
    "kyc": {
        "zh-CN": [
            "身份认证提交三天了还在审核",
            "上传身份证照片一直提示失败",
            "身份认证被拒绝了,说照片不清晰",
            "可以用护照做身份认证吗?需要多久?",
        ],
        "en": [
            "My identity verification has been under review for three days.",
            "Uploading my passport photo keeps failing.",
            "KYC was rejected because the photo is blurry, what now?",
            "How long does identity verification take?",
        ],
        "ko": ["신원 인증이 3일째 심사 중입니다."],
        "tr": ["Kimlik doğrulamam reddedildi."],
        "id": ["Verifikasi identitas saya ditolak."],
    },
    "account_security": {
        "zh-CN": [
            "手机丢了,谷歌验证器无法使用,怎么重置二次验证?",
            "收到陌生登录提醒,账户是不是被盗了?",
            "怎么冻结账户?",
        ],
        "en": [
            "I lost my phone and can't use Google Authenticator, how do I reset 2FA?",
            "I got a login alert from a device I don't know. Is my account hacked?",
            "How do I freeze my account right now?",
        ],
        "ru": ["Потерял телефон, как сбросить 2FA?"],
    },
    "p2p": {
        "zh-CN": [
            "P2P交易对方收款了但不放币",
            "C2C订单申诉多久处理?",
            "P2P商家要求我线下转账,安全吗?",
        ],
        "en": [
            "The P2P seller received my payment but did not release the coins.",
            "How long does a P2P appeal take?",
            "The P2P merchant asked me to pay outside the platform. Is that safe?",
        ],
        "vi": ["Người bán P2P chưa chuyển coin cho tôi."],
    },
    "futures": {
        "zh-CN": [
            "合约被强平了,强平价格怎么算的?",
            "永续合约资金费率是什么意思?",
        ],
        "en": [
            "My futures position was liquidated, how is the liquidation price calculated?",
            "What is the funding rate on perpetual swaps?",
        ],
        "ko": ["선물 포지션이 청산되었습니다."],
    },
    "api": {
        "zh-CN": ["API下单一直返回签名错误", "API的频率限制是多少?"],
        "en": ["My API orders return an invalid signature error.", "What are the API rate limits?"],
    },
    "earn": {
        "zh-CN": ["理财产品可以提前赎回吗?", "活期理财收益什么时候发放?"],
        "en": ["Can I redeem a savings product early?", "When is the flexible savings interest paid?"],
    },
    "promotions": {
        "zh-CN": ["新用户奖励什么时候到账?", "邀请返佣没有收到"],
        "en": ["When will I get the new user bonus?", "I did not receive my referral commission."],
    },
    "staking_rewards": {
        "zh-CN": ["质押奖励这周没有发放", "ETH质押收益比之前少了很多"],
        "en": ["My staking rewards were not paid this week.", "ETH staking rewards dropped a lot, why?"],
    },
}

SUBJECTS = {
    "zh-CN": {
        "registration": "注册问题", "deposit": "充值未到账", "withdrawal": "提现问题",
        "trading_fees": "手续费咨询", "kyc": "身份认证", "account_security": "账户安全",
        "p2p": "P2P交易申诉", "futures": "合约问题", "api": "API问题", "earn": "理财咨询",
        "promotions": "活动奖励", "staking_rewards": "质押奖励",
    },
    "en": {
        "registration": "Sign-up problem", "deposit": "Deposit not credited", "withdrawal": "Withdrawal issue",
        "trading_fees": "Fee question", "kyc": "Identity verification", "account_security": "Account security",
        "p2p": "P2P dispute", "futures": "Futures question", "api": "API issue", "earn": "Savings question",
        "promotions": "Promotion reward", "staking_rewards": "Staking rewards",
    },
}

PII_SUFFIX = {
    "zh-CN": ["我的邮箱是{email}", "联系电话{phone}", "身份证号{cn_id}", "提现地址{wallet}", "银行卡号{card}"],
    "en": ["my email is {email}", "call me on {phone}", "my ID number is {cn_id}", "withdrawal address {wallet}",
           "card number {card}"],
}

AGENT_REPLIES = {
    "zh-CN": ["您好,已为您查询,请稍等。", "您好,问题已处理,请刷新页面查看。", "您好,请提供相关截图以便核实。"],
    "en": ["Hi, let me check that for you.", "Hi, this has been fixed, please refresh.",
           "Hi, could you send a screenshot so we can verify?"],
}
FOLLOW_UPS = {
    "zh-CN": ["好的,谢谢", "还是不行", "请问还要多久?"],
    "en": ["Thanks", "Still not working", "How much longer?"],
}
COMMENTS = {
    "zh-CN": {"low": ["等了太久了", "问题没解决", "客服回复太慢"], "high": ["客服很耐心,谢谢", "解决得很快"]},
    "en": {"low": ["Waited far too long", "Problem not solved", "Slow replies"],
           "high": ["Very helpful, thanks", "Quick fix"]},
}

ARTICLES = {
    # topic: {language: (title, body)}; deliberate gaps: p2p/api/staking_rewards have none,
    # futures/earn/promotions are English only.
    "registration": {
        "zh-CN": ("如何注册账户", "使用邮箱或手机号注册,收取验证码,设置符合规则的密码(8-32位,含大小写字母和数字)。"
                               "收不到邮箱验证码请检查垃圾邮件。"),
        "en": ("How to register an account", "Sign up with email or phone, enter the verification code and "
               "set a password of 8-32 characters with upper and lower case letters and digits. "
               "Check your spam folder if the email code does not arrive."),
    },
    "deposit": {
        "zh-CN": ("充值未到账怎么办", "充值需要区块确认,USDT一般需要若干确认。转错网络的充值可提交找回申请。"),
        "en": ("Deposit not credited", "Deposits are credited after enough block confirmations. "
               "Deposits sent on the wrong network can be recovered through a recovery request."),
        "ko": ("입금이 도착하지 않았을 때", "입금은 블록 확인 후 반영됩니다."),
    },
    "withdrawal": {
        "zh-CN": ("如何提现", "完成身份认证后,在资产页面点击提现,选择币种和网络,输入地址。提现审核一般在数小时内完成。"),
        "en": ("How to withdraw", "After identity verification, open the assets page, click Withdraw, choose "
               "coin and network and enter the address. Withdrawal review usually takes a few hours; "
               "withdrawal fees depend on the network."),
    },
    "trading_fees": {
        "zh-CN": ("交易手续费说明", "手续费按交易对和用户等级收取,VIP等级越高折扣越多,可用平台币抵扣。"),
        "en": ("Trading fees", "Spot fees depend on the pair and your VIP tier; maker and taker fees differ. "
               "Higher tiers get larger discounts."),
    },
    "kyc": {
        "zh-CN": ("如何完成身份认证", "上传身份证或护照照片及自拍,审核一般需要1-2个工作日。照片需清晰完整。"),
        "en": ("How to verify your identity", "Upload a clear photo of your ID card or passport and a selfie. "
               "Identity verification reviews take 1-2 business days."),
        "ja": ("本人確認の方法", "身分証明書またはパスポートをアップロードしてください。審査は1〜2営業日です。"),
    },
    "account_security": {
        "zh-CN": ("如何重置二次验证", "丢失手机或谷歌验证器时,可在登录页申请重置二次验证。发现异常登录请立即冻结账户。"),
        "en": ("How to reset 2FA and secure your account", "If you lost your phone or Google Authenticator, "
               "request a 2FA reset from the login page. Freeze your account at once after an unknown login."),
    },
    "futures": {
        "en": ("Futures liquidation and funding rates", "Liquidation happens when margin falls below the "
               "maintenance level. Perpetual swaps pay a funding rate every eight hours."),
    },
    "earn": {
        "en": ("Savings products", "Flexible savings pay interest daily and can be redeemed at any time; "
               "fixed products can't be redeemed early."),
    },
    "promotions": {
        "en": ("Rewards and referral commissions", "New user bonuses are credited within 7 days of the first "
               "trade; referral commissions are paid daily."),
    },
}


def article_body(topic: str, language: str, body: str) -> str:
    """Help-centre articles end with the questions they answer, as real ones do: the first two
    phrasings customers use for the topic (the others stay unlisted, so matching is not trivial)."""
    questions = MESSAGES.get(topic, {}).get(language, [])[:2]
    if not questions:
        return body
    head = "常见问题:" if language.startswith("zh") else "Related questions: "
    return body + "\n" + head + " ".join(questions)
