"""Free-mail domains: an address there says nothing about the lead's company.

Kept in the engine (no Django) because capture normalisation and the scorecard's
"domain is free-mail" operator must agree on one list.
"""

from __future__ import annotations

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    """
    gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.es yahoo.it
    yahoo.co.in yahoo.com.br ymail.com rocketmail.com hotmail.com hotmail.co.uk hotmail.fr
    hotmail.de hotmail.es hotmail.it outlook.com outlook.fr outlook.de live.com live.co.uk
    live.fr msn.com aol.com aim.com icloud.com me.com mac.com proton.me protonmail.com pm.me
    gmx.com gmx.de gmx.net gmx.at gmx.ch web.de t-online.de freenet.de mail.com email.com
    zoho.com zohomail.com yandex.com yandex.ru mail.ru bk.ru inbox.ru list.ru rambler.ru qq.com
    163.com 126.com sina.com sohu.com naver.com daum.net hanmail.net rediffmail.com laposte.net
    orange.fr wanadoo.fr free.fr sfr.fr libero.it virgilio.it tiscali.it alice.it seznam.cz
    wp.pl o2.pl interia.pl onet.pl bol.com.br uol.com.br terra.com.br ig.com.br fastmail.com
    fastmail.fm hey.com tutanota.com tuta.io hushmail.com comcast.net verizon.net att.net
    sbcglobal.net bellsouth.net cox.net charter.net earthlink.net btinternet.com sky.com
    virginmedia.com ntlworld.com bigpond.com optusnet.com.au shaw.ca rogers.com sympatico.ca
    telus.net xs4all.nl ziggo.nl kpnmail.nl planet.nl telenet.be skynet.be bluewin.ch sunrise.ch
    """.split()
)
